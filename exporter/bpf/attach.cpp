#include "bpf/attach.h"

#include <bpf/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <set>

#include "bpf/error.h"
#include "bpf/object.h"

namespace kscope {
namespace {

// Syscall programs (fexit__openat) and kernel-function programs
// (fentry_fn__do_exit), by family.
struct Prefixes {
  const char* exit_side;
  const char* enter_side;
  const char* task_events;
};

Prefixes prefixes_of(Attach family) {
  switch (family) {
    case Attach::kFentry:
      return {"fexit__", "fentry__", "fentry_fn__"};
    case Attach::kKprobe:
      return {"kret__", "kprobe__", "kprobe_fn__"};
    case Attach::kTracepoint:
    case Attach::kAuto:
      break;
  }
  return {"tp_exit__", "tp_enter__", "tpbtf__"};
}

bool needs_btf(const std::string& kind) {
  return kind == "fentry" || kind == "fexit" || kind == "tp_btf" || kind == "iter";
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

// The candidates present in /proc/kallsyms (one read for all of them).
std::set<std::string> in_kallsyms(const std::set<std::string>& wanted) {
  std::ifstream in("/proc/kallsyms");
  if (!in) throw Error("read /proc/kallsyms", errno);
  std::set<std::string> found;
  std::string addr, type, name;
  while (in >> addr >> type >> name) {
    if (wanted.count(name)) found.insert(name);
    in.ignore(1 << 20, '\n');  // the module column, when there is one
  }
  return found;
}

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

std::vector<std::string> variant_prefixes(Attach family, Mode mode) {
  Prefixes p = prefixes_of(family);
  return {mode == Mode::kReturn ? p.exit_side : p.enter_side, p.task_events, "iter__"};
}

const std::vector<Attach>& auto_order() {
  static const std::vector<Attach> order{Attach::kFentry, Attach::kTracepoint, Attach::kKprobe};
  return order;
}

std::vector<std::string> target_candidates(const std::string& program) {
  for (Attach family : {Attach::kFentry, Attach::kKprobe}) {
    Prefixes p = prefixes_of(family);
    if (program.starts_with(p.task_events)) return {program.substr(strlen(p.task_events))};
    for (const char* side : {p.exit_side, p.enter_side}) {
      if (!program.starts_with(side)) continue;
      std::string sc = program.substr(strlen(side));
      return {"__x64_sys_" + sc, "__do_sys_" + sc};
    }
  }
  return {};
}

CoreBtf::CoreBtf(const std::string& btf_path, const void* object, size_t size) {
  bool readable = access(btf_path.c_str(), R_OK) == 0;
  task_btf_ = readable && access(Config::kKernelBtfPath, F_OK) == 0;
  if (readable || !object) {
    if (btf_path != Config::kKernelBtfPath) path_ = btf_path;
    return;
  }
  own_ = Fd(memfd_create("kscope-object-btf", MFD_CLOEXEC));
  if (own_.get() < 0) throw Error("memfd_create for the object's own BTF", errno);
  for (size_t done = 0; done < size;) {
    ssize_t n = write(own_.get(), static_cast<const char*>(object) + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("write the object's own BTF to a memfd", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  path_ = "/proc/self/fd/" + std::to_string(own_.get());
}

std::map<std::string, std::string> resolve_targets(bpf_object* obj, const std::string& btf_path) {
  std::vector<bpf_program*> fentry, kprobe;
  bool btf_needed = false;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__autoload(prog)) continue;
    std::string kind = attach_kind(prog);
    btf_needed = btf_needed || needs_btf(kind);
    if (kind == "fentry" || kind == "fexit") fentry.push_back(prog);
    if (kind == "kprobe" || kind == "kretprobe") kprobe.push_back(prog);
  }

  std::unique_ptr<btf, BtfDeleter> kernel_btf;
  if (btf_needed) {
    if (access(btf_path.c_str(), R_OK) != 0)
      throw Error("needs kernel BTF, which " + btf_path + " should hold", errno,
                  "a kernel built with CONFIG_DEBUG_INFO_BTF=y");
    kernel_btf.reset(btf__parse(btf_path.c_str(), nullptr));
    if (!kernel_btf) throw Error("parse kernel BTF " + btf_path, errno);
  }
  std::vector<std::pair<bpf_program*, std::string>> fentry_targets;
  for (bpf_program* p : fentry) {
    std::string name = bpf_program__name(p);
    auto candidates = target_candidates(name);
    auto it = candidates.begin();
    while (it != candidates.end() &&
           btf__find_by_name_kind(kernel_btf.get(), it->c_str(), BTF_KIND_FUNC) < 0)
      ++it;
    if (it == candidates.end())
      throw Error(name + ": no kernel function in BTF (tried " + join(candidates) + ")", ENOENT);
    fentry_targets.emplace_back(p, *it);
  }
  // libbpf parses the kernel's BTF again for the targets: not while this
  // copy (megabytes) is still held.
  kernel_btf.reset();
  for (const auto& [p, target] : fentry_targets)
    if (int err = bpf_program__set_attach_target(p, 0, target.c_str()))
      throw Error(std::string(bpf_program__name(p)) + ": set attach target " + target, err);

  std::map<std::string, std::string> targets;
  if (kprobe.empty()) return targets;
  std::set<std::string> wanted;
  for (bpf_program* p : kprobe)
    for (const auto& c : target_candidates(bpf_program__name(p))) wanted.insert(c);
  std::set<std::string> present = in_kallsyms(wanted);
  for (bpf_program* p : kprobe) {
    std::string name = bpf_program__name(p);
    auto candidates = target_candidates(name);
    auto it = candidates.begin();
    while (it != candidates.end() && !present.count(*it)) ++it;
    if (it == candidates.end())
      throw Error(name + ": no kernel function in /proc/kallsyms (tried " + join(candidates) + ")",
                  ENOENT);
    targets.emplace(name, *it);
  }
  return targets;
}

std::string auto_choice_note(const std::string& chosen, const std::vector<std::string>& refused) {
  std::vector<std::string> parts;
  if (!refused.empty()) parts.push_back("refused " + join(refused, "; "));
  std::vector<std::string> after;
  bool past = false;
  for (Attach a : auto_order()) {
    if (past) after.push_back(attach_name(a));
    past = past || chosen == attach_name(a);
  }
  if (!refused.empty() && !after.empty())
    parts.push_back("not tried: " + join(after, ", ") + ", ranked after " + chosen);
  return parts.empty() ? "" : " (auto; " + join(parts, "; ") + ")";
}

std::string load_hint(Attach family, int err) {
  err = err < 0 ? -err : err;
  // The verifier's refusal is EACCES (or EINVAL), a missing privilege EPERM.
  if (err == EACCES || err == EINVAL)
    return "the kernel refused a program (the verifier, or a feature it lacks): "
           "--log.level=debug shows libbpf's log";
  if (err != EPERM) return "";
  if (geteuid() != 0) return "loading BPF needs root, or CAP_BPF and CAP_PERFMON";
  if (family == Attach::kFentry)
    return "the kernel refuses BPF trampolines (fentry/fexit) even to root here";
  return "";
}

std::string attach_hint(Attach family) {
  if (family == Attach::kKprobe && access("/sys/bus/event_source/devices/kprobe", F_OK) != 0)
    return "this kernel has no kprobes: CONFIG_KPROBES is off";
  return "";
}

}  // namespace kscope
