// What every probe collector does with its skeleton: for the attach family
// the config asks for (or each of auto's in turn), open a fresh object,
// keep that family's programs, point them at the running kernel's
// functions, load, attach. Header-only glue over bpf/attach.h and
// bpf/object.h.
#pragma once

#include <string>
#include <vector>

#include "bpf/attach.h"
#include "bpf/error.h"
#include "bpf/object.h"
#include "collector.h"
#include "collectors/module_stats.h"
#include "config.h"

namespace kscope {

// A bpftool skeleton's functions, e.g. {fd_bpf__open_opts, fd_bpf__load}.
template <typename S>
struct SkeletonOps {
  S* (*open)(const bpf_object_open_opts*);
  int (*load)(S*);
  // Set for objects that read kernel types only behind cgroup_id_from_task
  // (fd, vfs): without BTF to relocate against they load against their own
  // (CoreBtf).
  const void* (*elf_bytes)(size_t*) = nullptr;
};

// One family: loads it into skel (replacing what was there) or throws Error
// saying which step failed and why.
template <typename S>
Attachment attach_family(SkelPtr<S>& skel, SkeletonOps<S> ops, Attach family,
                         const CollectorContext& ctx) {
  size_t object_size = 0;
  const void* object = ops.elf_bytes ? ops.elf_bytes(&object_size) : nullptr;
  CoreBtf core_btf(ctx.config.btf_path, object, object_size);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = core_btf.custom_path());
  skel.reset(ops.open(&opts));
  if (!skel) throw Error("open BPF object", errno);
  keep_only(skel->obj, variant_prefixes(family, ctx.config.mode));
  auto kprobe_targets = resolve_targets(skel->obj, ctx.config.btf_path);
  skel->rodata->targ_tgid = ctx.target_tgid;
  skel->rodata->attribute_cgroup = ModuleStats::configure(skel->obj, ctx);
  skel->rodata->cgroup_id_from_task = core_btf.task_btf();
  if (int err = ops.load(skel.get()); err != 0)
    throw Error("load BPF programs", err, load_hint(family, err));
  try {
    Attachment a = attach_all(skel->obj, kprobe_targets);
    a.family = attach_name(family);
    return a;
  } catch (const Error& e) {
    if (std::string hint = attach_hint(family); !hint.empty())
      throw Error(std::string(e.what()) + " (" + hint + ")");
    throw;
  }
}

// The module's programs loaded and attached with the configured family, or
// under auto the first of auto_order() that works (a.refused says why the
// ones before it did not). Throws Error naming the module, the family and
// the reason (every family's, under auto).
template <typename S>
Attachment load_and_attach(SkelPtr<S>& skel, SkeletonOps<S> ops, const std::string& module,
                           const CollectorContext& ctx) {
  Attach wanted = ctx.config.module_attach(module);
  if (wanted != Attach::kAuto) {
    try {
      return attach_family(skel, ops, wanted, ctx);
    } catch (const Error& e) {
      throw Error(module + ": attach " + attach_name(wanted) + ": " + e.what());
    }
  }
  std::vector<std::string> refused;
  for (Attach family : auto_order()) {
    try {
      Attachment a = attach_family(skel, ops, family, ctx);
      a.refused = std::move(refused);
      return a;
    } catch (const Error& e) {
      refused.push_back(std::string(attach_name(family)) + ": " + e.what());
    }
  }
  skel.reset();
  std::string why;
  for (const auto& r : refused) why += (why.empty() ? "" : "; ") + r;
  throw Error(module + ": no attach family works: " + why);
}

}  // namespace kscope
