#include "bpf/object.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "bpf/error.h"
#include "bpf/tracefs.h"

namespace kscope {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string attach_kind(const bpf_program* prog) {
  std::string sec = bpf_program__section_name(prog);
  // "fentry" alone: the target is set from user space; "fentry/<fn>": fixed.
  std::string head = sec.substr(0, sec.find('/'));
  static const std::pair<const char*, const char*> kinds[] = {
      {"tracepoint", "tracepoint"},
      {"tp", "tracepoint"},
      {"tp_btf", "tp_btf"},
      {"raw_tp", "raw_tracepoint"},
      {"raw_tracepoint", "raw_tracepoint"},
      {"fentry", "fentry"},
      {"fexit", "fexit"},
      {"kprobe", "kprobe"},
      {"kretprobe", "kretprobe"},
      {"iter", "iter"},
  };
  for (const auto& [name, kind] : kinds)
    if (head == name) return kind;
  return sec;
}

void keep_only(bpf_object* obj, const std::vector<std::string>& prefixes) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    std::string name = bpf_program__name(prog);
    bool keep = false;
    for (const auto& p : prefixes) keep = keep || name.starts_with(p);
    bpf_program__set_autoload(prog, keep);
  }
}

Attachment::~Attachment() {
  std::vector<std::jthread> detaching;
  for (auto& [name, link] : links) {
    try {
      detaching.emplace_back([l = std::move(link)]() mutable { l.reset(); });
    } catch (const std::system_error&) {
      link.reset();  // no thread to spare: here, one by one (if moved from, a no-op)
    }
  }
}

Attachment attach_all(bpf_object* obj, const std::map<std::string, std::string>& kprobe_targets) {
  Attachment a;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__autoload(prog)) continue;
    std::string kind = attach_kind(prog);
    if (kind == "tracepoint") ensure_tracefs();
    std::string name = bpf_program__name(prog);
    bpf_link* link = nullptr;
    std::string where = bpf_program__section_name(prog);
    if (auto t = kprobe_targets.find(name); t != kprobe_targets.end()) {
      where = kind + " " + t->second;
      link = bpf_program__attach_kprobe(prog, kind == "kretprobe", t->second.c_str());
    } else {
      link = bpf_program__attach(prog);
    }
    if (!link) {
      int err = errno;
      throw Error("attach " + name + " (" + where + ")", err);
    }
    a.links.emplace(name, LinkPtr(link));
    if (kind != "iter") a.kinds.insert(kind);
  }
  return a;
}

std::vector<uint64_t> sum_percpu(const std::vector<uint64_t>& values, size_t ncpus, size_t n) {
  std::vector<uint64_t> out(n, 0);
  for (size_t cpu = 0; cpu < ncpus; cpu++)
    for (size_t i = 0; i < n; i++) out[i] += values[cpu * n + i];
  return out;
}

size_t possible_cpus() {
  static const int n = libbpf_num_possible_cpus();
  if (n <= 0) throw Error("count possible CPUs", n);
  return static_cast<size_t>(n);
}

bpf_map* find_map(bpf_object* obj, const char* name) {
  bpf_map* m = bpf_object__find_map_by_name(obj, name);
  if (!m) throw Error(std::string("BPF object has no map ") + name, ENOENT);
  return m;
}

std::vector<uint64_t> read_percpu_u64s(int map_fd, uint32_t key, size_t n) {
  const size_t ncpus = possible_cpus();
  std::vector<uint64_t> values(ncpus * n);
  if (bpf_map_lookup_elem(map_fd, &key, values.data()) != 0) throw Error("read per-CPU map", errno);
  return sum_percpu(values, ncpus, n);
}

}  // namespace kscope
