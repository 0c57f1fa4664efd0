// What the entry table stores per key: an immutable, published snapshot of one cache value.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <utility>

namespace corral {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

enum class entry_kind : std::uint8_t {
  value,     // a loaded or put value
  not_found, // a cached "not found" (negative_ttl)
};

/// An entry is created by its key's owner (key actor, or a put), published once and never
/// modified afterwards except for the refresh flag; a newer entry replaces it as a whole and
/// the old one is freed by epoch-based reclamation when no reader holds it.
struct entry {
  virtual ~entry() = default;

  /// The entry is fresh strictly before this instant. max() = never expires.
  time_point expires_at = time_point::max();
  entry_kind kind = entry_kind::value;
  /// Set by the first reader that finds the entry stale, so that only one reader asks for a
  /// background refresh.
  mutable std::atomic<bool> refresh_requested{false};

  bool fresh_at(time_point now) const noexcept { return now < expires_at; }
};

/// An entry holding a value of type V.
template <class V> struct value_entry final : entry {
  template <class... Ts> explicit value_entry(Ts&&... xs) : value(std::forward<Ts>(xs)...) {}
  V value;
};

} // namespace corral
