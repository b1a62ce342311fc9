// The churn the soak test drives: forked workers, each pacing its own kind of
// churn (processes, threads, files, cgroups) at a target rate until a
// deadline, then reporting how many it did through a pipe.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace kscope::test {

using SoakClock = std::chrono::steady_clock;

// Runs op() `rate` times a second until `until`, in 10 ms ticks (a late tick
// catches up), calling tick() once per tick; returns how many ops ran.
inline uint64_t run_paced(double rate, SoakClock::time_point until, const std::function<void()>& op,
                          const std::function<void()>& tick = {}) {
  auto start = SoakClock::now();
  uint64_t done = 0;
  for (auto now = start; now < until; now = SoakClock::now()) {
    double due = rate * std::chrono::duration<double>(now - start).count();
    while (done < due && SoakClock::now() < until) {
      op();
      done++;
    }
    if (tick) tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done;
}

// A worker's failure: what failed and errno's text, on stderr, then exit 3.
[[noreturn]] inline void worker_fail(const std::string& what) {
  std::string line = "soak worker: " + what + ": " + std::strerror(errno) + "\n";
  if (write(2, line.data(), line.size()) < 0) _exit(3);
  _exit(3);
}

// One in ten processes execs /bin/true; the rest exit straight after fork.
inline void process_churn_op(uint64_t n) {
  pid_t pid = fork();
  if (pid < 0) worker_fail("fork");
  if (pid == 0) {
    if (n % 10 == 0) execl("/bin/true", "true", nullptr);
    _exit(0);
  }
  if (waitpid(pid, nullptr, 0) != pid) worker_fail("waitpid");
}

inline void thread_churn_op() {
  std::thread([] {}).join();
}

// Create, write 4 KiB, read it back, close, unlink.
inline void file_churn_op(const std::string& dir, uint64_t n) {
  static char buf[4096];
  std::string path = dir + "/f" + std::to_string(n % 64);
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0) worker_fail("open " + path);
  if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf)) worker_fail("write " + path);
  if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf)) worker_fail("read " + path);
  close(fd);
  if (unlink(path.c_str()) != 0) worker_fail("unlink " + path);
}

// Moves the calling process into the cgroup directory `dir`.
inline bool join_cgroup(const std::string& dir) {
  int procs = open((dir + "/cgroup.procs").c_str(), O_WRONLY);
  bool ok = procs >= 0 && write(procs, "0", 1) == 1;
  if (procs >= 0) close(procs);
  return ok;
}

// Kills what is left in a cgroup directory and removes it (cleanup after a
// failure; cgroup.kill exists since 5.14).
inline void kill_and_remove_cgroup(const std::string& dir) {
  if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
  std::ofstream(dir + "/cgroup.kill") << "1";
  for (int i = 0; i < 200 && rmdir(dir.c_str()) != 0 && errno == EBUSY; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// Cgroup churn: each cgroup is created, gets a process that opens, reads and
// forks in it for `life`, and is removed once that process has exited. At
// 5 a second and 1.5 s each, about 8 are alive at a time, each through one or
// two samples, so each gets series of its own that must then go away.
class CgroupChurn {
 public:
  CgroupChurn(std::string mount, std::string prefix, std::chrono::milliseconds life)
      : mount_(std::move(mount)), prefix_(std::move(prefix)), life_(life) {}

  // Creates cgroup number n and starts its process.
  void start(uint64_t n) {
    std::string dir = mount_ + prefix_ + std::to_string(n);
    if (mkdir(dir.c_str(), 0755) != 0) worker_fail("mkdir " + dir);
    pid_t pid = fork();
    if (pid < 0) worker_fail("fork");
    if (pid == 0) use_cgroup(dir, life_);
    live_.push_back({dir, pid});
  }
  // Removes the cgroups whose process has exited; with `wait`, waits for them all.
  void reap(bool wait = false) {
    std::erase_if(live_, [&](const Live& l) {
      int status = 0;
      if (waitpid(l.pid, &status, wait ? 0 : WNOHANG) != l.pid) return false;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = 0;
        worker_fail("cgroup process in " + l.dir + " status " + std::to_string(status));
      }
      // The exited task leaves the cgroup a moment after waitpid returns.
      for (int i = 0; rmdir(l.dir.c_str()) != 0; i++)
        if (errno != EBUSY || i == 500)
          worker_fail("rmdir " + l.dir);
        else
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      removed_++;
      return true;
    });
  }
  uint64_t removed() const { return removed_; }

 private:
  struct Live {
    std::string dir;
    pid_t pid;
  };
  [[noreturn]] static void use_cgroup(const std::string& dir, std::chrono::milliseconds life) {
    if (!join_cgroup(dir)) _exit(4);
    char buf[1024];
    auto until = SoakClock::now() + life;
    for (int i = 0; SoakClock::now() < until; i++) {
      close(open("/dev/null", O_RDONLY));
      int zero = open("/dev/zero", O_RDONLY);
      if (zero < 0 || read(zero, buf, sizeof(buf)) != sizeof(buf)) _exit(5);
      close(zero);
      if (i == 0) {
        pid_t kid = fork();
        if (kid == 0) _exit(0);
        waitpid(kid, nullptr, 0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    _exit(0);
  }
  std::string mount_, prefix_;
  std::chrono::milliseconds life_;
  std::vector<Live> live_;
  uint64_t removed_ = 0;
};

// A forked worker in its own process group: runs `body` (which returns how
// many it did) and writes the count to a pipe. Killed with its group if still
// running when destroyed.
class Worker {
 public:
  Worker(std::string name, double target_rate, const std::function<uint64_t()>& body)
      : name_(std::move(name)), target_(target_rate) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      close(fds[0]);
      uint64_t done = body();
      _exit(write(fds[1], &done, sizeof(done)) == sizeof(done) ? 0 : 6);
    }
    setpgid(pid_, pid_);
    close(fds[1]);
    out_ = fds[0];
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (pid_ > 0 && !finished_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  // Waits for the worker; its count, or -1 if it failed (exit status in status()).
  int64_t finish() {
    uint64_t done = 0;
    bool got = out_ >= 0 && read(out_, &done, sizeof(done)) == sizeof(done);
    int st = 0;
    if (pid_ > 0 && waitpid(pid_, &st, 0) == pid_) finished_ = true;
    status_ = st;
    return got && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? static_cast<int64_t>(done) : -1;
  }
  const std::string& name() const { return name_; }
  double target() const { return target_; }
  int status() const { return status_; }

 private:
  std::string name_;
  double target_;
  pid_t pid_ = -1;
  int out_ = -1;
  bool finished_ = false;
  int status_ = 0;
};

}  // namespace kscope::test
