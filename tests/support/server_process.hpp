// Building blocks of the real-server fixtures (redis_server.hpp, postgres_server.hpp): a free
// loopback port, a temporary directory that is removed afterwards, and a child process with
// its output in a log file, optionally run as another user (PostgreSQL refuses to run as root).
// Header-only so that tests and benchmarks can both use it without a library of their own.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace corral::test {

/// A TCP port free on 127.0.0.1 right now: the kernel picks it for a socket bound to port 0,
/// which is then closed for the server to take.
inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind to 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// The user a server runs as: nobody in particular (the current user) unless the tests run as
/// root and the server refuses root, in which case a system user such as `postgres`.
struct run_as {
  bool switch_user{false};
  uid_t uid{0};
  gid_t gid{0};

  /// `name` when running as root (the user must exist), else the current user.
  static run_as system_user_if_root(const std::string& name) {
    run_as out;
    if (::geteuid() != 0)
      return out;
    passwd* pw = ::getpwnam(name.c_str());
    if (!pw)
      throw std::runtime_error("tests run as root, and the server refuses root, but there is no "
                               "system user \"" +
                               name + "\" to run it as");
    out.switch_user = true;
    out.uid = pw->pw_uid;
    out.gid = pw->pw_gid;
    return out;
  }
};

/// A fresh directory under the system temp dir, owned by `owner`, removed with its content.
class temp_dir {
public:
  explicit temp_dir(const std::string& stem, const run_as& owner = {}) {
    auto pattern = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = buf.data();
    if (owner.switch_user && ::chown(path_.c_str(), owner.uid, owner.gid) != 0)
      throw std::system_error(errno, std::generic_category(), "chown " + path_.string());
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// The last `max_bytes` of a file (a server log for a failure message).
inline std::string tail_of_file(const std::filesystem::path& file, std::size_t max_bytes = 4000) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return "(no log at " + file.string() + ")";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() <= max_bytes ? all : "..." + all.substr(all.size() - max_bytes);
}

/// One child process; output (stdout and stderr) appended to a log file.
class child_process {
public:
  child_process() = default;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (running())
      stop(SIGKILL, std::chrono::seconds(10));
  }

  void spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
             const run_as& user) {
    // Everything the child needs is prepared before fork: after it, only async-signal-safe
    // calls (the test process has other threads).
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::string log_path = log.string();
    pid_t pid = ::fork();
    if (pid < 0)
      throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
      ::setpgid(0, 0); // a terminal's Ctrl-C goes to the tests, which stop the server
      if (user.switch_user) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0)
          ::_exit(126);
      }
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0)
        ::dup2(devnull, STDIN_FILENO);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    pid_ = pid;
    exit_status_ = -1;
  }

  /// True while the process has not exited (reaps it once it has).
  bool running() {
    if (pid_ <= 0)
      return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  /// Sends `sig` and waits for the exit; SIGKILL once `grace` has passed.
  void stop(int sig, std::chrono::milliseconds grace) {
    if (!running())
      return;
    ::kill(pid_, sig);
    if (!wait_exit(grace)) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(30));
    }
  }

  /// Waits up to `timeout` for the exit; true once it has exited.
  bool wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polling a real process
    }
    return true;
  }

  /// The raw waitpid status of the last exit, -1 before one.
  int exit_status() const { return exit_status_; }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_{-1};
  int exit_status_{-1};
};

/// Runs a command to completion; throws with the log's tail when it fails or overruns.
inline void run_to_completion(const std::vector<std::string>& argv,
                              const std::filesystem::path& log, const run_as& user,
                              std::chrono::milliseconds timeout) {
  child_process p;
  p.spawn(argv, log, user);
  if (!p.wait_exit(timeout)) {
    p.stop(SIGKILL, std::chrono::seconds(5));
    throw std::runtime_error(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                             " ms; log:\n" + tail_of_file(log));
  }
  int st = p.exit_status();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    throw std::runtime_error(argv[0] + " failed (wait status " + std::to_string(st) + "); log:\n" +
                             tail_of_file(log));
}

/// Polls `ready` (a probe of the real server) until it answers, the process dies, or
/// `timeout` passes; throws naming the server and quoting its log.
inline void wait_until_ready(const std::string& what, child_process& process,
                             const std::function<bool()>& ready, const std::filesystem::path& log,
                             std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ready())
      return;
    if (!process.running())
      throw std::runtime_error(what + " exited during startup (wait status " +
                               std::to_string(process.exit_status()) + "); log:\n" +
                               tail_of_file(log));
    if (std::chrono::steady_clock::now() >= deadline) {
      process.stop(SIGKILL, std::chrono::seconds(5));
      throw std::runtime_error(what + " was not ready within " + std::to_string(timeout.count()) +
                               " ms; log:\n" + tail_of_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling a real server
  }
}

} // namespace corral::test
