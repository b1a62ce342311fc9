// What every probe collector does with its skeleton: pick the programs of
// the mode, load, attach. Header-only glue over bpf/object.h.
#pragma once

#include <string>
#include <vector>

#include "bpf/error.h"
#include "bpf/object.h"
#include "collector.h"
#include "collectors/module_stats.h"
#include "config.h"

namespace kscope {

// Program name prefixes of the variant that runs in `mode`: syscall exit
// tracepoints for "return", enter tracepoints for "entry", plus what every
// mode uses (BTF tracepoints, iterators).
inline std::vector<std::string> tracepoint_variant(Mode mode) {
  return {mode == Mode::kReturn ? "tp_exit__" : "tp_enter__", "tpbtf__", "iter__"};
}

// open -> choose programs -> set targ_tgid -> load -> attach, for a bpftool
// skeleton type S. Throws Error naming the module and step.
template <typename S>
Attachment load_and_attach(S* skel, const std::string& module, const CollectorContext& ctx,
                           int (*load)(S*)) {
  keep_only(skel->obj, tracepoint_variant(ctx.config.mode));
  skel->rodata->targ_tgid = ctx.target_tgid;
  skel->rodata->attribute_cgroup = ModuleStats::configure(skel->obj, ctx);
  if (int err = load(skel); err != 0)
    throw Error(module + ": load BPF programs", err, load_hint(err));
  return attach_all(skel->obj, module);
}

template <typename S>
S* open_skeleton(S* (*open)(), const std::string& module) {
  S* skel = open();
  if (!skel) throw Error(module + ": open BPF object", errno);
  return skel;
}

}  // namespace kscope
