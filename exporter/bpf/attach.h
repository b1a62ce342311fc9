// Attach families: which of a module's programs each loads, which kernel
// functions its fentry and kprobe programs hook on the running kernel, and
// the order `attach: auto` tries them in.
#pragma once

#include <bpf/libbpf.h>

#include <map>
#include <string>
#include <vector>

#include "bpf/object.h"
#include "config.h"

namespace kscope {

// The BTF that CO-RE relocations are made against (libbpf's
// btf_custom_path), from the configured btf_path:
// - the kernel's own file: nullptr, libbpf's default (naming it would make
//   libbpf parse it twice);
// - another readable file: that file;
// - a file that cannot be read (a kernel without BTF), for an object whose
//   every read of kernel types is switched off by task_btf() false (object
//   given): the object's own BTF, held in a memfd. libbpf refuses
//   relocations with nothing to make them against; the object's own types
//   (the vmlinux.h it was built with) let it load. Without object:
//   btf_path as before, so libbpf fails naming it.
class CoreBtf {
 public:
  // object, size: the BPF object's ELF (a skeleton's elf_bytes), or nullptr.
  // Throws Error.
  CoreBtf(const std::string& btf_path, const void* object, size_t size);
  const char* custom_path() const { return path_.empty() ? nullptr : path_.c_str(); }
  // Whether the object may read the current task through its BTF
  // (cgroup_id_from_task): btf_path was readable, and the kernel has BTF of
  // its own, which bpf_get_current_task_btf() needs.
  bool task_btf() const { return task_btf_; }

 private:
  bool task_btf_ = false;
  std::string path_;
  Fd own_;
};

// Program name prefixes of one family in one mode (see KSCOPE_SYSCALL in
// probes/kscope.bpf.h and probes/process.bpf.c).
std::vector<std::string> variant_prefixes(Attach family, Mode mode);

// What auto tries, first choice first: cheapest per traced call first
// (fentry, tracepoint, kprobe; figures in BENCHMARKS.md, "Attach families").
const std::vector<Attach>& auto_order();

// The kernel functions a program of a fentry or kprobe variant may hook, in
// order of preference: <sc> of fexit__<sc> etc. is a syscall, whose x86-64
// entry point is __x64_sys_<sc> (or, for SYSCALL_DEFINE0 syscalls whose
// BTF lacks the alias, __do_sys_<sc>); <f> of *_fn__<f> is f itself. Empty
// for programs of other kinds.
std::vector<std::string> target_candidates(const std::string& program);

// Before load, on an object whose variant is chosen (keep_only):
// - refuses (Error) when a kept program needs kernel BTF (fentry, fexit,
//   tp_btf, iter) and btf_path cannot be read;
// - points every kept fentry/fexit program at the first candidate present
//   in the kernel's BTF, and returns, for every kept kprobe program, the
//   first candidate present in /proc/kallsyms (program name -> function).
// Throws Error naming the program and the functions tried.
std::map<std::string, std::string> resolve_targets(bpf_object* obj, const std::string& btf_path);

// How auto came to `chosen` (a family name), for the log: " (auto; refused
// <why each family before it failed>; not tried: <those after it>, ranked
// after <chosen>)", or "" when auto took its first choice.
std::string auto_choice_note(const std::string& chosen, const std::vector<std::string>& refused);

// What to do about a load of family's programs that failed with err (an
// errno, either sign), or "" when nothing more is known.
std::string load_hint(Attach family, int err);

// Why attaching family's programs may fail on this kernel whatever the
// program, or "": kprobes need CONFIG_KPROBES.
std::string attach_hint(Attach family);

}  // namespace kscope
