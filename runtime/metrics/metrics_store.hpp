// The windows of one cache's metrics. The metrics actor folds the live, cumulative counters
// into a completed window once per cycle; any thread can read a snapshot at any time without a
// message: "last" is computed live as (cumulative now - cumulative at the last fold).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include <corral/runtime/engine/counters.hpp>
#include <corral/runtime/engine/histogram.hpp>
#include <corral/runtime/metrics/metrics.hpp>

namespace corral {

/// The latencies a cache records.
enum class timing : std::uint8_t { load, tier1, source, write, count_ };
inline constexpr std::size_t timing_count = static_cast<std::size_t>(timing::count_);

/// Live, cumulative sources of a cache's metrics (owned by the cache core).
struct metric_sources {
  thread_counters counters;
  std::array<atomic_histogram, timing_count> timings;
  void record(timing t, std::uint64_t ns) noexcept {
    timings[static_cast<std::size_t>(t)].record(ns);
  }
  std::atomic<std::uint64_t> loads_in_flight{0};
  std::atomic<std::uint64_t> parked_waiters{0};
  std::atomic<std::uint64_t> resident_actors{0};
  std::atomic<std::uint64_t> largest_mailbox{0};
  std::atomic<std::uint64_t> abandoned_running{0}; // loads past load_timeout, not yet returned
};

class metrics_store {
public:
  /// Completed windows kept for "cycle"; at least 1.
  explicit metrics_store(std::size_t windows, std::uint64_t cycle_ns)
      : windows_(windows == 0 ? 1 : windows), cycle_ns_(cycle_ns) {}

  /// Closes the window being filled and starts a new one.
  void fold(metric_sources& src);

  /// last / cycle / total as of now; `entries` is the table's size for the gauges.
  metrics_snapshot snapshot(const std::string& cache, const metric_sources& src,
                            std::uint64_t entries) const;

private:
  struct cumulative {
    counter_values counters{};
    std::array<histogram_counts, timing_count> timings;
  };
  static cumulative read(const metric_sources& src);
  static cumulative minus(const cumulative& now, const cumulative& base);
  static void add(cumulative& into, const cumulative& w);
  static window_stats to_window(const cumulative& c);

  const std::size_t windows_;
  const std::uint64_t cycle_ns_;
  mutable std::mutex mtx_;
  cumulative base_;             // cumulative values at the last fold
  std::deque<cumulative> ring_; // completed windows, oldest first
  cumulative max_so_far_;       // histogram maxima over all completed windows (for "total")
  std::uint64_t completed_ = 0;
};

} // namespace corral
