#include "tls/tls_compat.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

// The shim's bytes, put here by the assembler (.incbin of the built library).
extern "C" const char kscope_ssl_compat_begin[];
extern "C" const char kscope_ssl_compat_end[];
asm(".section .rodata\n"
    ".balign 16\n"
    ".global kscope_ssl_compat_begin\n"
    "kscope_ssl_compat_begin:\n"
    ".incbin \"" KSCOPE_SSL_COMPAT_PATH
    "\"\n"
    ".global kscope_ssl_compat_end\n"
    "kscope_ssl_compat_end:\n"
    ".previous\n");

namespace kscope {

namespace {

// From a memory file: kscope stays one file to install, and nothing is
// written to disk. The loader keeps the mapping after the file is closed.
std::string load_once() {
  int fd = memfd_create("libssl.so", MFD_CLOEXEC);
  if (fd < 0) return std::string("memfd_create: ") + std::strerror(errno);
  const char* p = kscope_ssl_compat_begin;
  size_t left = static_cast<size_t>(kscope_ssl_compat_end - kscope_ssl_compat_begin);
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0) {
      std::string why = std::string("write the shim: ") + std::strerror(errno);
      close(fd);
      return why;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);  // kept for good
  close(fd);
  if (!handle) {
    const char* why = dlerror();
    return why ? why : "dlopen failed";
  }
  return "";
}

}  // namespace

std::string load_ssl_compat() {
  static std::once_flag once;
  static std::string result;
  std::call_once(once, [] { result = load_once(); });
  return result;
}

}  // namespace kscope
