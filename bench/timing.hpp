// Clocks and thread-release helpers shared by the scenarios.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include <time.h>

namespace bench {

using bench_clock = std::chrono::steady_clock;

inline double seconds_between(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline double ms_between(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// CPU time consumed by the calling thread.
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Lets a few measuring threads start their timed loops together: each calls arrive_and_wait();
/// the coordinator calls wait_all_arrived() and then release(). Waiters spin (with yield), so
/// use it only for as many threads as there are cores.
class spin_start {
public:
  void arrive_and_wait() noexcept {
    arrived_.fetch_add(1, std::memory_order_acq_rel);
    while (!go_.load(std::memory_order_acquire))
      std::this_thread::yield();
  }
  void wait_all_arrived(std::size_t n) const noexcept {
    while (arrived_.load(std::memory_order_acquire) < n)
      std::this_thread::yield();
  }
  void release() noexcept { go_.store(true, std::memory_order_release); }

private:
  std::atomic<std::size_t> arrived_{0};
  std::atomic<bool> go_{false};
};

} // namespace bench
