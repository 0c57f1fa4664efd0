// A log-bucketed latency histogram: recording is one relaxed atomic add (loads and writes are
// rare next to hits); windows are differences of cumulative snapshots.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace corral {

/// Bucket i covers [lower(i), lower(i+1)): four sub-buckets per power of two, so a bucket is at
/// most 25% wider than its lower bound. 1 ns to ~9.2e18 ns.
class latency_buckets {
public:
  static constexpr std::size_t sub_buckets = 4;
  static constexpr std::size_t count = 64 * sub_buckets;

  static std::size_t index_of(std::uint64_t ns) noexcept {
    if (ns < sub_buckets)
      return static_cast<std::size_t>(ns);
    auto log2 = 63 - static_cast<std::size_t>(__builtin_clzll(ns));
    auto sub = static_cast<std::size_t>((ns >> (log2 - 2)) & (sub_buckets - 1));
    return log2 * sub_buckets + sub;
  }
  /// Smallest value of bucket i.
  static std::uint64_t lower(std::size_t i) noexcept {
    auto log2 = i / sub_buckets;
    auto sub = i % sub_buckets;
    if (log2 < 2)
      return i;
    return (std::uint64_t{1} << log2) + (static_cast<std::uint64_t>(sub) << (log2 - 2));
  }
};

/// A plain copy of a histogram: a window, or the sum of windows.
struct histogram_counts {
  std::array<std::uint64_t, latency_buckets::count> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum_ns = 0;
  std::uint64_t max_ns = 0;

  histogram_counts& operator+=(const histogram_counts& o) noexcept;
  /// this - older, for cumulative snapshots (max is the caller's business).
  histogram_counts minus(const histogram_counts& older) const noexcept;
  /// Value at quantile q in [0,1]: the upper bound of its bucket (at most 25% above the true
  /// value), never above the maximum; 0 when empty.
  std::uint64_t quantile(double q) const noexcept;
  std::uint64_t average() const noexcept { return count == 0 ? 0 : sum_ns / count; }
};

/// The live, cumulative histogram written by any thread.
class atomic_histogram {
public:
  void record(std::uint64_t ns) noexcept {
    buckets_[latency_buckets::index_of(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(ns, std::memory_order_relaxed);
    auto seen = window_max_.load(std::memory_order_relaxed);
    while (ns > seen && !window_max_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }
  /// Cumulative counts; `max_ns` is the largest value since the last take_window_max().
  histogram_counts snapshot() const noexcept;
  /// The largest value recorded since the previous call (starts a new window's maximum).
  std::uint64_t take_window_max() noexcept { return window_max_.exchange(0); }

private:
  std::array<std::atomic<std::uint64_t>, latency_buckets::count> buckets_{};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> window_max_{0};
};

} // namespace corral
