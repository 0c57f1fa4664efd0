// A sharded hash table from key to the key's current entry, read with no lock and no write to
// shared memory (see docs/design.md, "Hits never send a message"), written under a per-shard
// mutex; versions decide between writers (docs/design.md, "One load per key, and the newest
// write wins").
//
// Entries are the chain links themselves: a publish links the new entry in place of the old one
// (which stays readable until epoch-based reclamation frees it), so a hit touches one allocation.
// Readers must hold a detail::epoch_guard for as long as they use a returned pointer.
// Every published entry carries a version taken from next_version(); a publish with a version
// not newer than the key's last one is refused, so a slow load never overwrites a newer put.
// Puts and invalidations take their versions under the shard lock, so they are newer than
// everything already there: they always win over what was published before them.
//
// An absent key has no version of its own, so removals leave one behind for their slot: each
// shard keeps `floor_slots` version floors, one per group of keys (by hash). An invalidation
// raises its key's floor to its own version, an eviction to the evicted entry's version (or its
// load_floor, if written later), and a publish into an absent key with a version at or below
// the floor is refused: a load or refresh that started before the removal cannot bring the key
// back, however late it finishes and whether or not a key actor ran it. The price: a load of
// another key of the same slot that started before the removal is not stored either (its
// waiters still get the value it loaded). Each removal during a load's flight has a 1 in
// 16,384 chance of that; N removals, 1 - (1 - 1/16,384)^N (4,096 removals: 22%).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <corral/runtime/engine/entry.hpp>

namespace corral {

class entry_table {
public:
  explicit entry_table(std::size_t shard_count = 64);
  ~entry_table();
  entry_table(const entry_table&) = delete;
  entry_table& operator=(const entry_table&) = delete;

  static std::size_t hash_key(std::string_view key) noexcept;
  static std::uint32_t tick_of(time_point t) noexcept;

  /// Lock-free lookup of the key's live entry (epoch guard required). May rarely miss a present
  /// key while its shard grows; callers treat that as a miss and take the slow path, which uses
  /// find_exact.
  const entry* find(std::string_view key, std::size_t hash) const noexcept;

  /// Lookup that never misses a present key (epoch guard required).
  const entry* find_exact(std::string_view key) const;

  /// Records a read at `tick` for the pruning policy. Written only when it changes, so a hot key
  /// costs one shared write per tick (~17 ms) instead of one per read.
  /// The same write also counts the read in the entry's frequency nibble (once per tick, so
  /// a hot key still writes once per tick; saturating at 15, after which nothing more).
  static void touch(const entry& e, std::uint32_t tick) noexcept {
    if (e.access_tick.load(std::memory_order_relaxed) != tick) {
      e.access_tick.store(tick, std::memory_order_relaxed);
      auto f = e.frequency.load(std::memory_order_relaxed);
      if ((f & 0xF) != 0xF) // a racing bump may be lost: the count is a hint
        e.frequency.store(static_cast<std::uint8_t>(f + 1), std::memory_order_relaxed);
    }
  }

  /// A new, strictly increasing version for a publish or erase.
  std::uint64_t next_version() const noexcept { return version_clock_.fetch_add(1) + 1; }

  /// Makes `e` the key's entry (taking ownership) if `version` (taken when its load started)
  /// is newer than the key's last version, or than its slot's floor when the key is absent.
  /// Otherwise returns false and leaves `e` with the caller. Storing counts as an access at
  /// `now` for the pruning policy.
  /// `inserted`, when given, tells whether the key was absent (the table grew by one entry).
  bool publish(std::string_view key, std::unique_ptr<entry>& e, std::uint64_t version,
               time_point now, bool* inserted = nullptr);

  /// Makes `e` the key's entry with a version taken under the shard lock, newer than anything
  /// stored: a put. Refused (false, `e` left with the caller) only when `e` is clean and the
  /// key holds an unwritten (dirty) value, which only a newer dirty value may replace.
  bool publish_newest(std::string_view key, std::unique_ptr<entry>& e, time_point now,
                      bool* inserted = nullptr);

  /// Removes the key's entry and raises its slot's floor to a version taken under the lock, so
  /// that no load or refresh that started earlier can store it again. An unwritten (dirty)
  /// entry stays, and nothing changes. Returns whether an entry was dropped.
  bool erase(std::string_view key);

  /// Removes the key completely unless it is dirty (prune). A load that may have read the store
  /// before the entry was written (below its load_floor) cannot bring it back. Returns whether
  /// it was removed.
  bool evict(std::string_view key);

  /// Entries in the table.
  std::size_t size() const noexcept;
  /// The sum of the entries' weights (entry::weight), kept by the same link and unlink paths
  /// as size(), so every removal (erase, evict, any remove_if) keeps it right.
  std::size_t weight() const noexcept;

  // -- write-behind --
  struct dirty_item {
    std::string key;
    std::uint64_t version;
  };
  /// Up to `max` dirty keys with their current versions, oldest shard first in rotation so that
  /// no shard starves. Does not clear anything: see mark_clean.
  std::vector<dirty_item> take_dirty(std::size_t max);
  /// Clears the key's dirty mark if its entry is still the one of `version` (no newer put).
  bool mark_clean(std::string_view key, std::uint64_t version);
  /// Replaces the key's entry by `e` if the current entry has `version`, keeping that version
  /// and its dirty mark (write-behind merges store-owned fields into the cached value).
  bool republish(std::string_view key, std::unique_ptr<entry>& e, std::uint64_t version);
  /// Entries not yet written to the store.
  std::size_t dirty_count() const noexcept { return dirty_total_.load(std::memory_order_relaxed); }

  struct sample_item {
    std::string key;
    std::uint32_t access_tick;
    time_point expires_at;
    std::size_t hash = 0;
    std::uint8_t frequency = 0; // entry::frequency
    bool in_window = false;
    bool dirty = false;
    std::size_t weight = 0;
  };
  /// Up to `n` keys picked at random, possibly repeated (for sampled eviction); every key,
  /// once, when `n` is at least the number of keys.
  std::vector<sample_item> sample(std::size_t n, std::mt19937_64& rng) const;

  // -- proactive expiry --
  /// Where the expiry sweep stopped: it walks the table shard by shard, bucket by bucket, a
  /// bounded stretch per call, so no call scans the whole table. A shard that grows while the
  /// sweep is inside it may have a few keys skipped or seen twice in that round.
  struct sweep_cursor {
    std::size_t shard = 0;
    std::size_t bucket = 0;
    std::uint64_t rounds = 0; // completed walks over the whole table
  };
  struct sweep_result {
    std::size_t examined = 0;
    std::size_t reclaimed = 0;
  };
  /// Whether `e` may be reclaimed at `now`: clean, and past its expiry by `value_grace` (the
  /// time a value is still served stale: stale_while_revalidate, stale_if_error); a cached
  /// "not found" is never served stale.
  static bool reclaimable(const entry& e, time_point now,
                          std::chrono::nanoseconds value_grace) noexcept;
  /// Walks on from `cursor` over about `budget` entries (whole buckets, at most one round) and
  /// removes those that are reclaimable, in the walk itself (no second lookup). As evict does,
  /// each removal raises its slot's floor to the entry's version: a load that started before
  /// the entry was stored stays refused, and one that started after it (a reload in flight)
  /// still stores its value.
  sweep_result reclaim_expired(sweep_cursor& cursor, std::size_t budget, time_point now,
                               std::chrono::nanoseconds value_grace);

private:
  struct bucket_array {
    explicit bucket_array(std::size_t n) : mask(n - 1), heads(new std::atomic<entry*>[n]) {
      for (std::size_t i = 0; i < n; ++i)
        heads[i].store(nullptr, std::memory_order_relaxed);
    }
    std::size_t size() const noexcept { return mask + 1; }
    const std::size_t mask;
    std::unique_ptr<std::atomic<entry*>[]> heads;
  };
  // Per shard: 16,384 slots (128 KiB) in a 64-shard table. Each invalidation during a load's
  // flight fences it with probability 1/16,384.
  static constexpr std::size_t floor_slots = 256;
  struct alignas(64) shard {
    std::atomic<bucket_array*> buckets{nullptr};
    std::atomic<std::uint64_t> resize_seq{0}; // odd while the shard grows
    alignas(64) mutable std::mutex mtx;       // own line: readers never touch it
    std::atomic<std::size_t> entries{0};      // written under mtx; size() reads it without
    std::atomic<std::size_t> weight{0};       // likewise: the sum of entry::weight
    /// Keys that became dirty, possibly clean again or repeated: take_dirty compacts it.
    std::vector<std::string> dirty_keys;
    /// The lowest version a load must exceed to store a key that is absent (see the top).
    std::uint64_t floors[floor_slots] = {};
    std::uint64_t& floor_of(std::size_t hash) noexcept {
      return floors[(hash >> 48) % floor_slots];
    }
  };
  /// Where a key's entry hangs: the link pointing at it (or where it would be inserted).
  struct position {
    std::atomic<entry*>* link;
    entry* current; // nullptr when the key is absent
  };

  shard& shard_of(std::size_t hash) const noexcept { return shards_[(hash >> 32) & shard_mask_]; }
  static entry* find_in(const bucket_array& b, std::string_view key, std::size_t hash) noexcept;
  static position locate_locked(shard& s, std::string_view key, std::size_t hash);
  /// What a write unlinked under the shard mutex. Retired only after the mutex is released:
  /// retiring may run reclamation (user destructors, a scan of every reader), which must never
  /// happen while a shard is locked.
  struct garbage {
    entry* old_entry = nullptr;
    bucket_array* old_buckets = nullptr;
    ~garbage();
  };
  /// Links `fresh` in place of `pos.current` (or at the bucket head).
  void replace_locked(shard& s, position pos, entry* fresh, garbage& g);
  void grow_locked(shard& s, garbage& g);
  void unlink_locked(shard& s, position pos, garbage& g);
  /// Links `e` as the key's entry if `version` is newer than the key's last one (or its slot's
  /// floor); nullopt means "take a new version under the lock". Returns false (leaving `e`
  /// with the caller) when refused.
  bool store(std::string_view key, std::unique_ptr<entry>& e, std::optional<std::uint64_t> version,
             std::uint32_t tick, bool* inserted);
  /// Unlinks the key's entry if `pred(shard, entry)` holds (it may raise the slot's floor).
  template <class Pred> bool remove_if(std::string_view key, Pred pred);
  std::optional<position> claim_locked(shard& s, std::string_view key, std::size_t hash,
                                       std::uint64_t version, bool dirty, garbage& g);

  const std::size_t shard_mask_;
  std::unique_ptr<shard[]> shards_;
  /// Starts at the wall clock in nanoseconds: versions reach write-behind stores, whose rows
  /// are version-guarded, so a restarted process must write versions above its predecessor's
  /// (it would need to have made more than one version per nanosecond to collide).
  mutable std::atomic<std::uint64_t> version_clock_{initial_version()};
  static std::uint64_t initial_version() noexcept;
  std::atomic<std::size_t> dirty_total_{0};
  std::size_t dirty_cursor_ = 0; // take_dirty's starting shard (the writer's only)
};

} // namespace corral
