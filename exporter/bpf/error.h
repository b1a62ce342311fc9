// One error type for everything that talks to the kernel: what failed, and
// the errno text of why ("fd: attach tp_exit__openat: No such file or directory").
#pragma once

#include <stdexcept>
#include <string>

namespace kscope {

class Error : public std::runtime_error {
 public:
  // err: an errno value, positive or negative (libbpf returns -errno).
  // hint: what to do about it, appended in parentheses when not empty.
  Error(const std::string& what, int err, const std::string& hint = "");
  explicit Error(const std::string& what) : std::runtime_error(what), err_(0) {}
  int err() const { return err_; }

 private:
  int err_;
};

}  // namespace kscope
