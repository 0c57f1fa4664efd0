// Per-thread event counters: each thread adds to its own cache line, so counting a hit never
// writes a line another core reads or writes. A snapshot sums all lines.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "runtime/thread_slot.hpp"

namespace corral {

enum class counter : std::uint8_t {
  hits,           // fresh value served from the table
  negative_hits,  // cached "not found" served from the table
  stale_hits,     // stale value served while a refresh runs (stale_while_revalidate)
  misses,         // requests that had to wait for the key actor
  stale_on_error, // stale value served because the reload failed (stale_if_error)
  errors,         // requests answered with an error other than not_found/timeout
  timeouts,       // requests answered with a timeout
  loads,          // loader calls started
  load_errors,    // loader calls that failed (threw or returned an error)
  invalidations,  // invalidate() calls
  puts,           // put() calls
  evictions,      // entries removed by pruning
  passivations,   // key actors passivated
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
