// Proactive expiry: reclaims expired entries nobody reads, so that a cache of one-time keys
// (sessions, request ids) does not grow without bound.
//
// Redis's active expiry, walked rather than sampled: each housekeeping pass examines at least a
// tenth of the table (as it was when the walk began) from where the last pass stopped, so every
// expired entry is reclaimed within about two walks (twenty passes) however cold it is: one
// that expired just after the walk passed it waits for the next. While a stretch is at least a
// quarter expired the pass goes on, up to a time budget, so a wave of expiries is cleared in a
// pass or two. A pass never examines more than the whole table. Dirty entries (unwritten puts)
// are left alone, and a value inside stale_while_revalidate or stale_if_error stays until that
// window has passed too, because it may still be served. A key whose reload is in flight may
// lose its expired entry: the reload still stores its value (entry_table::reclaim_expired).
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include <corral/runtime/engine/entry_table.hpp>

namespace corral {

struct cache_core;

class expiry_sweep {
public:
  /// A full walk over the table takes at most this many passes.
  static constexpr std::size_t passes_per_round = 10;
  /// Entries examined per pass at least, so that a small table is walked in one pass.
  static constexpr std::size_t min_examined = 1024;

  using pass_result = entry_table::sweep_result;

  /// One pass over `core`'s table; counts counter::expirations. Keeps going past the minimum
  /// while expired entries are dense, until `time_budget` (real time) has been spent.
  pass_result run(cache_core& core, std::chrono::nanoseconds time_budget);

  /// Whether entries of a cache configured like `core` can expire at all (a ttl or negative_ttl).
  static bool needed(const cache_core& core) noexcept;

  const entry_table::sweep_cursor& cursor() const noexcept { return cursor_; }

private:
  entry_table::sweep_cursor cursor_;
  /// Entries in the table when the current round began: each pass examines a tenth of it at
  /// least (of the current size if larger), so the round ends within ten passes even while the
  /// sweep itself empties the table.
  std::size_t round_size_ = 0;
  std::uint64_t round_ = ~std::uint64_t{0};
};

} // namespace corral
