// RAII for libbpf handles, and the steps every probe module shares: choose
// the programs of a variant, attach them, sum per-CPU counters.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace kscope {

// Owns a bpftool skeleton: SkelPtr<fd_bpf> p(fd_bpf__open(), fd_bpf__destroy).
// A function-pointer deleter: the skeleton's functions are static.
template <typename S>
using SkelPtr = std::unique_ptr<S, void (*)(S*)>;

struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// Move-only file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// The kind of hook a program is, from its section ("fentry" or
// "fentry/<fn>"): "tracepoint", "tp_btf", "raw_tracepoint", "fentry",
// "fexit", "kprobe", "kretprobe", "iter".
std::string attach_kind(const bpf_program* prog);

// Before load: only programs whose name starts with one of `prefixes` stay
// (the others get autoload off), so one object carries every variant.
void keep_only(bpf_object* obj, const std::vector<std::string>& prefixes);

// Detaches its links side by side when it goes: leaving a syscall
// tracepoint waits for RCU grace periods (vfs' 16 links took 1.8 s one by
// one here), and links detached at once share them.
struct Attachment {
  Attachment() = default;
  Attachment(Attachment&&) = default;
  Attachment& operator=(Attachment&&) = default;
  ~Attachment();

  std::map<std::string, LinkPtr> links;  // by program name
  std::set<std::string> kinds;           // attach_kind() of each, "iter" excluded
  std::string family;                    // "fentry", "kprobe" or "tracepoint"
  std::vector<std::string> refused;      // under auto: "<family>: <why>" of each tried first
};

// After load: attaches every loaded program, kprobe programs to the
// function kprobe_targets names for them (resolve_targets). Mounts tracefs
// first when a syscall tracepoint needs it. Throws Error naming the program.
Attachment attach_all(bpf_object* obj, const std::map<std::string, std::string>& kprobe_targets);

// The object's map called name. Throws Error when it has none.
bpf_map* find_map(bpf_object* obj, const char* name);

// The kernel's possible CPUs, counted once: a per-CPU map value holds one
// block for each. Throws Error.
size_t possible_cpus();

// Sums element `key` of a per-CPU array whose value is n u64 counters, over
// all possible CPUs. Throws Error.
std::vector<uint64_t> read_percpu_u64s(int map_fd, uint32_t key, size_t n);

// The summing step alone: values holds ncpus consecutive blocks of n u64s.
std::vector<uint64_t> sum_percpu(const std::vector<uint64_t>& values, size_t ncpus, size_t n);

}  // namespace kscope
