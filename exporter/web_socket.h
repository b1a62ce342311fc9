// Socket options civetweb has no option for, set on the listening sockets
// it opened in this process.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
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

// Calls f(fd) for each listening TCP socket of this process bound to one
// of `ports`.
template <typename F>
void for_each_listening(const std::vector<int>& ports, F f) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::string name = entry.path().filename();
    int fd = -1;
    std::from_chars(name.data(), name.data() + name.size(), fd);
    if (fd >= 0 && std::find(ports.begin(), ports.end(), listening_port(fd)) != ports.end()) f(fd);
  }
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
  detail::for_each_listening(ports, [&](int fd) {
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds)) == 0) done++;
  });
  return done;
}

// Where this process's listening TCP sockets on `ports` can be reached
// from here: their bound address, a wildcard one as loopback.
inline std::vector<sockaddr_storage> listening_addresses(const std::vector<int>& ports) {
  std::vector<sockaddr_storage> out;
  detail::for_each_listening(ports, [&](int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof(a);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return;
    if (a.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&a);
      if (in->sin_addr.s_addr == htonl(INADDR_ANY)) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (a.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
      if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) in6->sin6_addr = in6addr_loopback;
    }
    out.push_back(a);
  });
  return out;
}

// Sends a whole request to each address and closes without waiting for
// an answer. It ends a poll() on the listening socket at once (under
// TCP_DEFER_ACCEPT only data does); accepted, it gets a quick 503.
inline void poke(const std::vector<sockaddr_storage>& addresses) {
  static constexpr char kRequest[] = "HEAD / HTTP/1.0\r\n\r\n";
  for (const auto& a : addresses) {
    int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    socklen_t len = a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), len) == 0)
      (void)!send(fd, kRequest, std::strlen(kRequest), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
  }
}

}  // namespace kscope
