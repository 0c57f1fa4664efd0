#include "bench/child_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bench/timing.hpp"

namespace bench {

void record_pipe::write_all(const void* data, std::size_t size) const {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const auto n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // the parent is gone: nobody to tell
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

namespace detail {

child_status
run_child(std::size_t record_size, const std::function<void(const record_pipe&)>& body,
          const std::function<std::optional<std::chrono::milliseconds>(const void*)>& on_record,
          std::chrono::milliseconds limit) {
  child_status st;
  int fds[2];
  if (::pipe(fds) != 0) {
    st.failure = std::string{"pipe: "} + std::strerror(errno);
    return st;
  }
  std::fflush(nullptr); // nothing buffered may be written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    st.failure = std::string{"fork: "} + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return st;
  }
  if (pid == 0) {
    ::close(fds[0]);
    int status = 0;
    try {
      body(record_pipe{fds[1]});
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "child process failed: %s\n", ex.what());
      status = 1;
    } catch (...) {
      status = 1;
    }
    std::fflush(nullptr);
    ::_exit(status);
  }
  ::close(fds[1]);

  std::vector<char> buf(record_size); // whole records only; one may arrive in pieces
  std::size_t have = 0;
  auto limit_set = bench_clock::now();
  for (;;) {
    const auto deadline = limit_set + limit;
    const auto now = bench_clock::now();
    if (now >= deadline) {
      st.timed_out = true;
      st.killed_after_s = seconds_between(limit_set, now);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(wait.count(), 1)));
    if (ready <= 0)
      continue; // EINTR or the deadline, checked at the top
    const auto n = ::read(fds[0], buf.data() + have, record_size - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // the child closed its end: it is ending
    have += static_cast<std::size_t>(n);
    if (have == record_size) {
      have = 0;
      if (auto next = on_record(buf.data())) {
        limit = *next;
        limit_set = bench_clock::now();
      }
    }
  }
  ::close(fds[0]);
  if (st.timed_out)
    ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!st.timed_out) {
    if (WIFSIGNALED(status))
      st.failure = "child killed by signal " + std::to_string(WTERMSIG(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      st.failure = "child exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return st;
}

} // namespace detail
} // namespace bench
