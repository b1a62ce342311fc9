#include "bpf/error.h"

#include <cstdlib>
#include <cstring>

namespace kscope {

Error::Error(const std::string& what, int err)
    : std::runtime_error(what + ": " + std::strerror(std::abs(err))), err_(std::abs(err)) {}

}  // namespace kscope
