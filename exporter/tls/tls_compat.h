// civetweb's TLS on OpenSSL 3: loads the shim (ssl_compat.c), compiled into
// kscope, before civetweb looks for OpenSSL.
#pragma once

#include <string>

namespace kscope {

// Loads the shim once per process. Returns "" on success, else why not
// (civetweb then reports TLS as unavailable, and kscope says so).
std::string load_ssl_compat();

}  // namespace kscope
