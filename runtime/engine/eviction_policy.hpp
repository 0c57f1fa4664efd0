// Which entry leaves when a cache is over max_entries or max_weight: W-TinyLFU's admission,
// adapted to corral's sampled, lock-free-read entry table.
//
// - Frequency: a count-min sketch (frequency_sketch) counts inserts, i.e. misses that were
//   loaded and puts of new keys; reads of a resident key are counted in the entry itself
//   (entry::frequency, bumped by the hit path once per access tick, see entry_table::touch) and
//   folded into the sketch when the entry is evicted, so the key is remembered when it returns.
//   A key's frequency is the sum of the two, aged together: the sketch halves every ten
//   capacities of increments, and a resident count is halved lazily (once) when it missed a round.
// - Window: new keys enter a small FIFO window (1% of max_entries). Once it is full and the
//   cache is over its bound, the window's oldest key (the candidate) duels the main region's
//   victim, the coldest of a few sampled main entries (lowest frequency, then least recently
//   read; expired entries first). The colder one is evicted: a candidate that loses is an
//   admission rejection; one that wins joins the main region.
// - Never evicted: dirty (unwritten) entries, and keys whose key actor is busy. When neither
//   the candidate nor a sampled victim can go, nothing is evicted now; the supervisor's
//   housekeeping tick retries.
//
// Thread safety: every member is called by inserting threads (and the supervisor) under the
// policy's own mutex, never by the hit path. Lock order: policy mutex, then a table shard.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <corral/runtime/engine/entry_table.hpp>
#include <corral/runtime/engine/frequency_sketch.hpp>

namespace corral {

class eviction_policy {
public:
  /// Whether the key's actor is loading it (such a key is never evicted).
  using busy_fn = std::function<bool(const std::string& key, std::size_t hash)>;

  enum class cause : std::uint8_t { size, weight };
  struct eviction {
    std::string key;
    cause why;
    bool rejected; // the window's candidate lost its duel (admission rejection)
  };

  /// `max_entries` and `max_weight` as in cache_config (0 = no such bound).
  eviction_policy(std::size_t max_entries, std::size_t max_weight);

  bool bounded() const noexcept { return max_entries_ > 0 || max_weight_ > 0; }
  /// Whether `t` holds more than a bound allows.
  bool over(const entry_table& t) const noexcept;

  /// Prepares a new entry before it is published: its resident count starts at the sketch's
  /// current aging round.
  void stamp(entry& e) const noexcept {
    e.frequency.store(static_cast<std::uint8_t>(round_.load(std::memory_order_relaxed) << 4),
                      std::memory_order_relaxed);
  }

  /// Records that `key` was inserted into `t` (it was absent). Called after the table's locks
  /// are released, by the inserting thread. While the cache is within its bounds, keys beyond
  /// the window's capacity join the main region unopposed (there is room for both).
  void record_insert(const entry_table& t, std::string_view key, std::size_t hash);

  /// Evicts one entry from `t` by the policy, if one may go. nullopt: none could (everything
  /// sampled was dirty or busy, or the table is empty).
  std::optional<eviction> evict_one(entry_table& t, const busy_fn& busy, time_point now);

  /// Evicts until `t` is within its bounds, at most `max_evictions` entries (amortised: an
  /// insert adds one entry, so one eviction per insert keeps the bound). Calls `on_evict` for
  /// each. Returns the number evicted.
  template <class OnEvict>
  std::size_t enforce(entry_table& t, const busy_fn& busy, time_point now,
                      std::size_t max_evictions, OnEvict&& on_evict) {
    std::size_t n = 0;
    while (n < max_evictions && over(t)) {
      auto ev = evict_one(t, busy, now);
      if (!ev)
        break;
      ++n;
      on_evict(*ev);
    }
    return n;
  }

  /// The key's frequency as the policy compares it (sketch + aged resident count, 0..15).
  unsigned frequency_of(std::size_t hash, std::uint8_t resident) const;

  std::size_t window_size() const;
  std::size_t window_capacity(const entry_table& t) const noexcept;

private:
  unsigned aged_resident(std::uint8_t resident) const noexcept;
  /// The coldest evictable entry of the main region among a few sampled, or nullopt.
  std::optional<entry_table::sample_item> main_victim(const entry_table& t, const busy_fn& busy,
                                                      time_point now);
  /// The window's oldest key still resident and in the window, popped from the FIFO: once the
  /// window is over its capacity, or at any size when `any` (nothing else can go).
  std::optional<entry_table::sample_item> window_candidate(const entry_table& t, bool any);
  /// Moves the key to the main region (clears its window mark).
  static void admit(const entry_table& t, const std::string& key);
  /// Evicts `item`, folding its resident count into the sketch; false if it could not go.
  bool evict(entry_table& t, const entry_table::sample_item& item);
  void sync_round() noexcept {
    round_.store(static_cast<std::uint8_t>(sketch_.resets() & 0xF), std::memory_order_relaxed);
  }

  const std::size_t max_entries_;
  const std::size_t max_weight_;
  mutable std::mutex mtx_;
  frequency_sketch sketch_;
  std::atomic<std::uint8_t> round_{0}; // sketch_.resets() mod 16, read by stamp() without mtx_
  std::deque<std::string> window_;     // new keys, oldest first (may hold removed ones)
  std::mt19937_64 rng_{0x5eed};
};

} // namespace corral
