// Per-thread event counters: each thread adds to its own cache line, so counting a hit never
// writes a line another core reads or writes. A snapshot sums all lines.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <corral/runtime/engine/thread_slot.hpp>

namespace corral {

enum class counter : std::uint8_t {
  // Request outcomes: each request is counted once, in exactly one of these.
  hits,           // fresh value served from memory
  negative_hits,  // cached "not found" served from memory
  stale_hits,     // stale value served while a refresh runs (stale_while_revalidate)
  misses,         // waited for a load and got its value or "not found"
  stale_on_error, // waited, the load failed, and a stale value was served (stale_if_error)
  errors,         // answered with an error other than a timeout
  timeouts,       // answered with a timeout
  // Events.
  loads,                // loads started (one per single flight)
  load_errors,          // loads that failed (threw, returned an error, or every tier failed)
  refreshes,            // loads started with nobody waiting (background refresh)
  invalidations,        // invalidate() calls (manual misses)
  puts,                 // put() calls
  evictions,            // entries evicted to respect max_entries
  weight_evictions,     // entries evicted to respect max_weight
  expirations,          // expired entries reclaimed without a read (proactive expiry)
  admission_rejections, // new entries the admission policy evicted at once (a colder key)
  abandoned_loads,      // loads still running past load_timeout (their waiters were answered)
  bulkhead_rejections,  // loads refused because the cache's bulkhead queue was full
  passivations,         // key actors passivated
  tier1_hits,           // two-tier loads answered by tier 1
  tier1_misses,         // tier 1 did not have the key
  tier1_errors,         // tier 1 failed (the source was asked instead)
  source_loads,         // successful source calls
  source_errors,        // failed source calls
  writes,               // write-behind writes (a later issue)
  write_failures,
  dead_letters,
  count_
};

inline constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

using counter_values = std::array<std::uint64_t, counter_count>;

class thread_counters {
public:
  void add(counter c, std::uint64_t n = 1) noexcept { add(c, n, detail::current_thread_slot()); }

  /// For the hit path, which already knows its slot.
  void add(counter c, std::uint64_t n, detail::thread_slot_info slot) noexcept {
    auto& cell = lines_[slot.index].cells[static_cast<std::size_t>(c)];
    if (slot.exclusive) // only this thread writes the line: no read-modify-write needed
      cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    else
      cell.fetch_add(n, std::memory_order_relaxed);
  }

  counter_values snapshot() const noexcept {
    counter_values out{};
    for (const auto& line : lines_)
      for (std::size_t i = 0; i < counter_count; ++i)
        out[i] += line.cells[i].load(std::memory_order_relaxed);
    return out;
  }

  std::uint64_t get(counter c) const noexcept { return snapshot()[static_cast<std::size_t>(c)]; }

private:
  struct alignas(64) line {
    std::array<std::atomic<std::uint64_t>, counter_count> cells{};
  };
  line lines_[detail::max_thread_slots + 1];
};

} // namespace corral
