# The kernel matrix (label `vm`): each test boots one Debian kernel under QEMU
# (TCG: no KVM needed) with the freshly built kscope_bpf_tests and kscope
# inside, and passes only if the known-count checks pass in every attach mode
# (test/vm/run-kernel.sh, init.sh).
# Kernels are cached in ~/.cache/kscope/kernels; the suite's current version
# is resolved at every run. One that cannot be fetched is a loud skip.
set(KSCOPE_VM_KERNELS "5.10=bullseye;6.1=bookworm;6.12=trixie;7.x=trixie-backports"
    CACHE STRING "The kernel matrix: <release prefix>=<Debian suite> pairs")
set(kscope_vm_binaries $<TARGET_FILE:kscope_bpf_tests> $<TARGET_FILE:kscope>)

foreach(kernel IN LISTS KSCOPE_VM_KERNELS)
  string(REPLACE "=" ";" kernel ${kernel})
  list(GET kernel 0 release)
  list(GET kernel 1 suite)
  add_test(NAME vm_${release}
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/run-kernel.sh ${release} ${suite}
                   ${CMAKE_CURRENT_BINARY_DIR}/vm/${release} ${kscope_vm_binaries})
  # One VM at a time: two TCG guests on two shared cores only slow each other.
  # run-kernel.sh stops a VM after 480 s and runs a failed VM once more,
  # within ctest's TIMEOUT, to report; exit 77 (kernel not fetched) is a skip.
  set_tests_properties(vm_${release} PROPERTIES LABELS vm RUN_SERIAL TRUE TIMEOUT 1100
                       SKIP_RETURN_CODE 77 ENVIRONMENT KSCOPE_VM_TIMEOUT=480)
endforeach()
