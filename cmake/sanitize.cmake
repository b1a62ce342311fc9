# Sanitized builds (clang): KSCOPE_SANITIZE=address,undefined or thread
# instruments the whole build; KSCOPE_FUZZ adds libFuzzer's coverage
# instrumentation and the fuzz targets in test/fuzz. A report is never
# "recovered": the first one stops the process with a non-zero status.
set(KSCOPE_SANITIZE "" CACHE STRING "Sanitizers for the whole build: address,undefined or thread")
option(KSCOPE_FUZZ "Build the libFuzzer targets in test/fuzz (clang; implies address,undefined)" OFF)

if(KSCOPE_FUZZ AND NOT KSCOPE_SANITIZE)
  set(KSCOPE_SANITIZE address,undefined)
endif()
if(KSCOPE_SANITIZE OR KSCOPE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KSCOPE_SANITIZE and KSCOPE_FUZZ need clang: "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Without vptr: UBSan checks a dynamic type the first time by writing the
  # object to a pipe (pipe2, a 16-byte write, two closes), syscalls that the
  # BPF and e2e tests would count in their exact per-process totals.
  add_compile_options(-fsanitize=${KSCOPE_SANITIZE} -fno-sanitize=vptr -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KSCOPE_SANITIZE})
endif()
if(KSCOPE_FUZZ)
  # The fuzz targets add -fsanitize=fuzzer (libFuzzer's main) at link time.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
