# Sanitizers and fuzzing, run by ctest like every other test (so CI runs
# them). Each configures and builds a nested clang tree under sanitize/ in
# this build tree, only the targets it needs, then:
#   sanitize_asan_{unit,bpf,e2e,http_hardening}: those suites under
#     AddressSanitizer and UndefinedBehaviorSanitizer, leaks included (the
#     kscope they start too);
#   sanitize_tsan_unit: the unit tests under ThreadSanitizer, among them the
#     sampler/scrape and cgroup churn concurrency tests;
#   fuzz_<target>: test/fuzz/<target>_fuzz replays its corpus, then fuzzes
#     for KSCOPE_FUZZ_SECONDS (60 by default).
# Any sanitizer report, crash, leak or fuzzer finding fails the test.
option(KSCOPE_SANITIZE_TESTS "Run the sanitizer and fuzz tests (nested clang builds)" ON)
if(NOT KSCOPE_SANITIZE_TESTS OR KSCOPE_SANITIZE OR KSCOPE_FUZZ)
  return()  # off, or this is one of the nested trees
endif()

set(_trees ${CMAKE_BINARY_DIR}/sanitize)
set(_scripts ${CMAKE_CURRENT_SOURCE_DIR}/sanitize)

function(_kscope_tree name options)
  add_test(NAME sanitize_build_${name}
           COMMAND ${_scripts}/build_tree.sh ${PROJECT_SOURCE_DIR} ${_trees}/${name} "${options}"
                   ${ARGN})
  set_tests_properties(sanitize_build_${name} PROPERTIES FIXTURES_SETUP tree_${name}
                       TIMEOUT 1800)
endfunction()

_kscope_tree(asan -DKSCOPE_SANITIZE=address,undefined
             kscope kscope_unit_tests kscope_bpf_tests kscope_e2e_tests kscope_http_hardening_tests)
foreach(suite unit bpf e2e http_hardening)
  add_test(NAME sanitize_asan_${suite}
           COMMAND ${_scripts}/run_sanitized.sh ${_trees}/reports/asan_${suite}
                   ${_trees}/asan/test/kscope_${suite}_tests)
  set_tests_properties(sanitize_asan_${suite} PROPERTIES FIXTURES_REQUIRED tree_asan TIMEOUT 900)
endforeach()

_kscope_tree(tsan -DKSCOPE_SANITIZE=thread kscope_unit_tests)
add_test(NAME sanitize_tsan_unit
         COMMAND ${_scripts}/run_sanitized.sh ${_trees}/reports/tsan_unit
                 ${_trees}/tsan/test/kscope_unit_tests)
set_tests_properties(sanitize_tsan_unit PROPERTIES FIXTURES_REQUIRED tree_tsan TIMEOUT 900)

_kscope_tree(fuzz "-DKSCOPE_FUZZ=ON -DKSCOPE_BUILD_TESTS=OFF" kscope_fuzzers)
# KSCOPE_FUZZ_SECONDS in cmake's environment sets the default, in ctest's
# it overrides it.
set(_fuzz_seconds 60)
if(DEFINED ENV{KSCOPE_FUZZ_SECONDS})
  set(_fuzz_seconds $ENV{KSCOPE_FUZZ_SECONDS})
endif()
math(EXPR _fuzz_timeout "${_fuzz_seconds} + 600")
foreach(target config web_config cgroup_path)
  add_test(NAME fuzz_${target}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                   ${_trees}/fuzz/test/fuzz/${target}_fuzz
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target} ${_trees}/fuzz_${target}
                   ${_fuzz_seconds})
  set_tests_properties(fuzz_${target} PROPERTIES FIXTURES_REQUIRED tree_fuzz LABELS fuzz
                       TIMEOUT ${_fuzz_timeout})
endforeach()

set_tests_properties(sanitize_build_asan sanitize_asan_unit sanitize_asan_bpf sanitize_asan_e2e
                     sanitize_asan_http_hardening sanitize_build_tsan sanitize_tsan_unit
                     PROPERTIES LABELS sanitize)
set_tests_properties(sanitize_build_fuzz PROPERTIES LABELS fuzz)
get_property(_tests DIRECTORY PROPERTY TESTS)
foreach(t ${_tests})
  if(t MATCHES "^(sanitize|fuzz)_")
    set_tests_properties(${t} PROPERTIES RUN_SERIAL TRUE)
  endif()
endforeach()
