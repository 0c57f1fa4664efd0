// USE metrics of one cache: utilisation and errors per window, saturation gauges now.
//
// "last" is the window being filled, "cycle" the sum of the last `windows` completed windows,
// "total" everything since start. Every request is counted exactly once as a hit (served from
// memory: fresh, cached "not found", or stale while revalidating), a miss (waited for a load) or
// an error (including timeouts); rates are taken over requests and are 0 when there are none.
// How CAF serializes these for messages: messages/metrics_inspect.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace corral {

/// The upper bounds of the exported latency buckets: powers of two from 2^10 ns (~1 µs) to
/// 2^36 ns (~69 s). Each is an edge of the log-bucketed histogram the runtime records into, so a
/// bucket is a plain sum of histogram buckets (none is split): bucket i counts the values
/// strictly below latency_bound_ns(i) (a value of exactly 2^k ns lands in the next bucket).
inline constexpr std::size_t latency_bound_count = 27;
constexpr std::uint64_t latency_bound_ns(std::size_t i) noexcept {
  return std::uint64_t{1} << (10 + i);
}

/// A latency summary from a log-bucketed histogram (quantiles within ~19%).
struct timing_stats {
  std::uint64_t count = 0;
  std::uint64_t avg_ns = 0;
  std::uint64_t max_ns = 0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t sum_ns = 0;
  /// below[i]: values under latency_bound_ns(i), cumulative as in a Prometheus histogram
  /// (below[i] <= below[i+1] <= count).
  std::array<std::uint64_t, latency_bound_count> below{};
};

struct window_stats {
  // The request partition: requests == hits + misses + errors.
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  double hit_rate = 0;
  double miss_rate = 0;
  double error_rate = 0;
  // Details.
  std::uint64_t stale_serves = 0;  // stale values served (while revalidating or on error)
  std::uint64_t negative_hits = 0; // cached "not found" served
  std::uint64_t timeouts = 0;      // requests answered with a timeout (part of errors)
  std::uint64_t manual_misses = 0; // invalidations
  std::uint64_t puts = 0;
  std::uint64_t loads = 0;       // loads started (one per single flight)
  std::uint64_t load_errors = 0; // loads that failed
  std::uint64_t refreshes = 0;   // background reloads (stale_while_revalidate)
  std::uint64_t tier1_hits = 0;  // two-tier loads answered by tier 1
  std::uint64_t tier1_misses = 0;
  std::uint64_t tier1_errors = 0;
  /// tier1_hits over tier-1 lookups (hits + misses + errors); 0 without lookups.
  double tier1_hit_rate = 0;
  std::uint64_t source_loads = 0; // successful source loads
  std::uint64_t source_errors = 0;
  std::uint64_t writes = 0;               // write-behind: items committed to the store
  std::uint64_t write_failures = 0;       // batches that failed and stay dirty (retried)
  std::uint64_t dead_letters = 0;         // items the store refused for good
  std::uint64_t evictions = 0;            // to respect max_entries
  std::uint64_t weight_evictions = 0;     // to respect max_weight
  std::uint64_t expirations = 0;          // expired entries reclaimed without a read
  std::uint64_t admission_rejections = 0; // new entries evicted at once (colder than the victim)
  std::uint64_t abandoned_loads = 0;      // loads that ran past load_timeout
  std::uint64_t bulkhead_rejections = 0;  // loads refused: the bulkhead's queue was full
  std::uint64_t passivations = 0;
  timing_stats load_time;   // whole load (both tiers)
  timing_stats tier1_time;  // tier-1 calls
  timing_stats source_time; // source calls
  timing_stats write_time;  // write-behind batches (one transaction each, retries included)
};

/// Saturation, read when the snapshot is taken.
struct gauge_stats {
  std::uint64_t loads_in_flight = 0;
  std::uint64_t parked_waiters = 0;
  std::uint64_t dirty_backlog = 0;
  std::uint64_t resident_actors = 0;
  std::uint64_t largest_mailbox = 0; // the supervisor's backlog at its last housekeeping pass
  std::uint64_t entries = 0;
  std::uint64_t weight = 0;            // sum of the entries' weights (max_weight's measure)
  std::uint64_t loads_queued = 0;      // loads waiting in the cache's bulkhead queue
  std::uint64_t abandoned_running = 0; // loads past load_timeout still holding a thread
};

struct metrics_snapshot {
  std::string cache;
  std::uint64_t cycle_ns = 0;          // length of one window
  std::uint64_t windows = 0;           // windows summed into "cycle"
  std::uint64_t completed_windows = 0; // windows folded since start
  window_stats last;
  window_stats cycle;
  window_stats total;
  gauge_stats gauges;
};

/// Called once per cycle per cache, on the metrics actor's thread: keep it quick.
using metrics_callback = std::function<void(const metrics_snapshot&)>;

} // namespace corral
