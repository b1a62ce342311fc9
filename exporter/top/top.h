// `kscope top`: the landing page's live view in a terminal, refreshed every
// interval like vfsstat or top. Reads a running kscope's /metrics (--url) or
// loads the probes in this process.
#pragma once

#include <string>
#include <vector>

namespace kscope {

// args: what follows "top". Returns the exit status; throws UsageError for
// bad flags and Error when it cannot start.
int run_top(const std::vector<std::string>& args, const std::string& program);

}  // namespace kscope
