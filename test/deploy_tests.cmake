# Deployment artefacts (dashboards/, deploy/), checked by the tools that will
# consume them: yaml-cpp and kscope's own parsers, promtool, systemd-analyze,
# a real Prometheus. Included from test/CMakeLists.txt. Label: deploy.

# Manifests, dashboards, the ConfigMap's kscope.yml and the container args;
# the DaemonSet's capabilities against the real probes; every dashboard query
# and the alerting rules in a real Prometheus scraping the real binary.
add_executable(kscope_deploy_tests deploy_test.cpp)
# kscope_collectors: collector_names() then knows every compiled-in module,
# as the kscope binary does when it reads the ConfigMap's kscope.yml.
target_link_libraries(kscope_deploy_tests PRIVATE kscope_collectors kscope_core yaml-cpp
                      GTest::gtest_main)
target_compile_definitions(kscope_deploy_tests PRIVATE
  KSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  KSCOPE_BINARY="$<TARGET_FILE:kscope>")
add_dependencies(kscope_deploy_tests kscope)
gtest_discover_tests(kscope_deploy_tests PROPERTIES LABELS deploy RUN_SERIAL TRUE)

set(kscope_deploy_test_names "")
find_program(PROMTOOL promtool)
if(PROMTOOL)
  add_test(NAME deploy_promtool_check_rules
           COMMAND ${PROMTOOL} check rules ${PROJECT_SOURCE_DIR}/deploy/prometheus/kscope-rules.yml)
  add_test(NAME deploy_promtool_test_rules
           COMMAND ${PROMTOOL} test rules ${PROJECT_SOURCE_DIR}/deploy/prometheus/kscope-rules.test.yml)
  # rule_files are relative to the configuration file's directory.
  add_test(NAME deploy_promtool_check_config
           COMMAND ${PROMTOOL} check config ${PROJECT_SOURCE_DIR}/deploy/prometheus/prometheus.yml)
  list(APPEND kscope_deploy_test_names deploy_promtool_check_rules deploy_promtool_test_rules
       deploy_promtool_check_config)
else()
  add_test(NAME deploy_promtool COMMAND sh -c
           "echo 'promtool not installed (apt-get install prometheus: deploy/debian-packages.txt)'; exit 1")
  list(APPEND kscope_deploy_test_names deploy_promtool)
endif()

# systemd-analyze verify and security, the syscall filter against what
# kscope calls (strace), the capability bounding set against the probes.
# The script fails with a message when a tool is missing.
add_test(NAME deploy_systemd_unit
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy_systemd_test.sh
                 ${PROJECT_SOURCE_DIR}/deploy/systemd/kscope.service $<TARGET_FILE:kscope>)
list(APPEND kscope_deploy_test_names deploy_systemd_unit)

set_tests_properties(${kscope_deploy_test_names} PROPERTIES LABELS deploy)
set_tests_properties(deploy_systemd_unit PROPERTIES RUN_SERIAL TRUE)
