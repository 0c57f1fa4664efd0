// What the entry table stores per key: an immutable, published snapshot of one cache value,
// linked directly into its bucket chain so that a hit touches one allocation.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace corral {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

/// now + d without overflow: time_point::max() (never) when the sum would not fit.
inline time_point saturating_add(time_point now, std::chrono::nanoseconds d) noexcept {
  if (d.count() <= 0)
    return now;
  return time_point::max() - now < d ? time_point::max() : now + d;
}

enum class entry_kind : std::uint8_t {
  value,     // a loaded or put value
  not_found, // a cached "not found" (negative_ttl)
};

/// An entry is created by its key's owner (key actor, or a put) and published once; a newer
/// entry replaces it as a whole and the old one is freed by epoch-based reclamation when no
/// reader holds it. The table fills in the linkage fields when it publishes.
struct entry {
  virtual ~entry() = default;

  // -- set by the table on publish (readers only read them) --
  std::atomic<entry*> next{nullptr};
  std::size_t hash = 0;
  /// Coarse time of the last read (see entry_table::touch).
  mutable std::atomic<std::uint32_t> access_tick{0};
  /// Eviction policy: how often the key was read while resident, counted once per access tick
  /// (low nibble, saturating at 15), and the frequency sketch's aging round when it was last
  /// aged (high nibble), so the policy can halve it lazily (see eviction_policy).
  mutable std::atomic<std::uint8_t> frequency{0};
  /// Eviction policy: the key is in the admission window (recently inserted, not yet admitted
  /// to the main region). Set by the table when a new key is linked, carried over when the
  /// key's entry is replaced, cleared by the policy when the key is admitted.
  mutable std::atomic<bool> in_window{false};
  entry_kind kind = entry_kind::value;
  /// Set by the first reader that finds the entry stale, so that only one reader asks for a
  /// background refresh.
  mutable std::atomic<bool> refresh_requested{false};
  /// After a failed background refresh: no new one before this (steady-clock ns), and how many
  /// failed in a row (for the doubling backoff). Written only by the refresh that failed.
  mutable std::atomic<std::int64_t> refresh_retry_at{0};
  mutable std::atomic<std::uint8_t> refresh_failures{0};
  std::uint64_t version = 0;
  /// The entry is fresh strictly before this instant. max() = never expires.
  time_point expires_at = time_point::max();
  /// The first read at or after this instant asks for one background reload (refresh_after).
  time_point refresh_at = time_point::max();
  /// How long the load of this value took (XFetch's delta); 0 for put values.
  std::chrono::nanoseconds load_time{0};
  std::string key;
  /// What the entry counts toward max_weight (see runtime/weigher.hpp); set before publishing.
  std::size_t weight = 0;
  /// Write-behind: a put value not yet written to the store. Set before publishing, cleared
  /// only under the table's shard lock (atomic because put() peeks at it without the lock). A
  /// dirty entry is never evicted, and only a newer dirty entry (a put) may replace it: no
  /// load or invalidate can drop it.
  std::atomic<bool> dirty{false};
  /// Write-behind: set (under the shard lock) when the entry was written and cleaned. A load
  /// with an older version may have read the store before that write, so it cannot replace
  /// this entry; a load started after it reads what was written.
  std::uint64_t load_floor = 0;

  bool fresh_at(time_point now) const noexcept { return now < expires_at; }
};

/// An entry holding a value of type V.
template <class V> struct value_entry final : entry {
  template <class... Ts> explicit value_entry(Ts&&... xs) : value(std::forward<Ts>(xs)...) {}
  V value;
};

} // namespace corral
