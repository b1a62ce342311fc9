# BPF objects and bpftool skeletons, after libbpf-bootstrap's FindBpfObject.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(KSCOPE_BPF_ARCH x86)
else()
  message(FATAL_ERROR "kscope: no pinned vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}; "
                      "add probes/<arch>/vmlinux.h (bpftool btf dump file /sys/kernel/btf/vmlinux format c)")
endif()

# System include dirs go after ours (-idirafter) so the BPF build sees
# <bpf/bpf_helpers.h> but not the host's glibc headers first.
execute_process(COMMAND ${BPF_CLANG} -v -E - INPUT_FILE /dev/null
                ERROR_VARIABLE _clang_v OUTPUT_QUIET)
string(REGEX MATCH "<\\.\\.\\.> search starts here:\n(.*)End of search list" _m "${_clang_v}")
string(REGEX REPLACE "\n +" ";" _sys_dirs "${CMAKE_MATCH_1}")
set(KSCOPE_BPF_SYS_INCLUDES "")
foreach(d ${_sys_dirs})
  string(STRIP "${d}" d)
  if(d)
    list(APPEND KSCOPE_BPF_SYS_INCLUDES -idirafter ${d})
  endif()
endforeach()

set(KSCOPE_SKEL_DIR ${CMAKE_BINARY_DIR}/skel)
file(MAKE_DIRECTORY ${KSCOPE_SKEL_DIR})

# kscope_bpf_skeleton(<name> <src.bpf.c> [extra deps...]): compile with clang
# -target bpf and generate ${KSCOPE_SKEL_DIR}/<name>.skel.h (struct <name>_bpf);
# target <name>_skel builds it.
function(kscope_bpf_skeleton name src)
  set(obj ${KSCOPE_SKEL_DIR}/${name}.bpf.o)
  set(skel ${KSCOPE_SKEL_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${KSCOPE_BPF_ARCH}
            -Wall -Werror
            -I${PROJECT_SOURCE_DIR}/probes/${KSCOPE_BPF_ARCH} -I${PROJECT_SOURCE_DIR}/probes
            ${KSCOPE_BPF_SYS_INCLUDES} -c ${src} -o ${obj}.debug
    # Through libbpf's static linker: the same object without its DWARF
    # (libbpf needs only .BTF), embedded in kscope at half the size.
    COMMAND ${BPFTOOL} gen object ${obj} ${obj}.debug
    DEPENDS ${src} ${PROJECT_SOURCE_DIR}/probes/kscope.bpf.h ${PROJECT_SOURCE_DIR}/probes/le_slot.h
            ${PROJECT_SOURCE_DIR}/probes/cgroup_key.h
            ${ARGN}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${skel})
endfunction()

# kscope_probe(<name>): a probe module: probes/<name>.bpf.c + probes/<name>.h
# and its collector exporter/collectors/<name>.cpp.
function(kscope_probe name)
  kscope_bpf_skeleton(${name} ${PROJECT_SOURCE_DIR}/probes/${name}.bpf.c
                      ${PROJECT_SOURCE_DIR}/probes/${name}.h)
  add_dependencies(kscope_collectors ${name}_skel)
  target_sources(kscope_collectors PRIVATE ${PROJECT_SOURCE_DIR}/exporter/collectors/${name}.cpp)
endfunction()
