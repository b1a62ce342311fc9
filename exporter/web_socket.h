// Socket options civetweb has no option for, set on the listening sockets
// it opened in this process.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <string>
#include <vector>

namespace kscope {
namespace detail {

// The bound port of a listening TCP socket, or -1 for any other fd.
inline int listening_port(int fd) {
  int listening = 0, type = 0;
  socklen_t len = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) return -1;
  len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return -1;
  sockaddr_storage addr{};
  len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return -1;
}

}  // namespace detail

// TCP_DEFER_ACCEPT on this process's listening TCP sockets bound to `ports`:
// the kernel completes accept() only once a connection's first bytes have
// arrived (nginx's "listen ... deferred"), so a connection that sends
// nothing never takes one of civetweb's worker threads. After `seconds`
// without data the kernel hands it over anyway, and civetweb's request
// timeout closes it. Returns how many sockets got the option.
inline int defer_accept(const std::vector<int>& ports, int seconds) {
  int done = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::string name = entry.path().filename();
    int fd = -1;
    std::from_chars(name.data(), name.data() + name.size(), fd);
    if (fd < 0 || std::find(ports.begin(), ports.end(), detail::listening_port(fd)) == ports.end())
      continue;
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds)) == 0) done++;
  }
  return done;
}

}  // namespace kscope
