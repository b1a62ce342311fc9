#include "bpf/error.h"

#include <cstdlib>
#include <cstring>

namespace kscope {

Error::Error(const std::string& what, int err, const std::string& hint)
    : std::runtime_error(what + ": " + std::strerror(std::abs(err)) +
                         (hint.empty() ? "" : " (" + hint + ")")),
      err_(std::abs(err)) {}

}  // namespace kscope
