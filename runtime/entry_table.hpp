// A sharded hash table from key to the key's current entry, read with no lock and no write to
// shared memory (principle 1), written by key owners under a per-shard mutex.
//
// Readers must hold a detail::epoch_guard for as long as they use a returned pointer.
// Every published entry carries a version taken from next_version(); a publish with a version
// not newer than the key's last one is refused, so a slow load never overwrites a newer put.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/entry.hpp"

namespace corral {

class entry_table {
public:
  struct node {
    node(std::size_t h, std::string_view k) : hash(h), key(k) {}
    std::atomic<node*> next{nullptr};
    const std::size_t hash;
    const std::string key;
    std::atomic<const entry*> current{nullptr};
    std::uint64_t version = 0; // guarded by the shard mutex
    /// Coarse time of the last read (see touch); written only when it changes, so hot keys
    /// cost one shared write per tick instead of one per read.
    mutable std::atomic<std::uint32_t> access_tick{0};
  };

  explicit entry_table(std::size_t shard_count = 64);
  ~entry_table();
  entry_table(const entry_table&) = delete;
  entry_table& operator=(const entry_table&) = delete;

  static std::size_t hash_key(std::string_view key) noexcept;
  static std::uint32_t tick_of(time_point t) noexcept;

  /// Lock-free lookup (epoch guard required). May rarely miss a present key while its shard
  /// grows; callers treat that as a miss and take the slow path, which uses find_exact.
  const node* find_node(std::string_view key, std::size_t hash) const noexcept;

  /// Lookup that never misses a present key (epoch guard required).
  const entry* find_exact(std::string_view key) const;

  /// Records a read at `tick` for the pruning policy.
  static void touch(const node& n, std::uint32_t tick) noexcept {
    if (n.access_tick.load(std::memory_order_relaxed) != tick)
      n.access_tick.store(tick, std::memory_order_relaxed);
  }

  /// A new, strictly increasing version for a publish or erase.
  std::uint64_t next_version() noexcept { return version_clock_.fetch_add(1) + 1; }

  /// Makes `e` the key's entry (taking ownership) if `version` is newer than the key's last
  /// version. Otherwise returns false and leaves `e` with the caller. Storing counts as an
  /// access at `now` for the pruning policy.
  bool publish(std::string_view key, std::unique_ptr<entry>& e, std::uint64_t version,
               time_point now);

  /// Drops the key's entry if `version` is newer than its last version; remembers the
  /// version so that older loads cannot store afterwards. Returns whether an entry was dropped.
  bool erase(std::string_view key, std::uint64_t version);

  /// Removes the key completely (prune). Returns whether it was present.
  bool evict(std::string_view key);

  /// Live entries (keys that currently have an entry).
  std::size_t size() const noexcept;

  struct sample_item {
    std::string key;
    std::uint32_t access_tick;
    time_point expires_at;
    bool has_entry;
  };
  /// Up to `n` keys picked at random, possibly repeated (for sampled eviction); every key,
  /// once, when `n` is at least the number of keys.
  std::vector<sample_item> sample(std::size_t n, std::mt19937_64& rng) const;

private:
  struct bucket_array {
    explicit bucket_array(std::size_t n) : mask(n - 1), heads(new std::atomic<node*>[n]) {
      for (std::size_t i = 0; i < n; ++i)
        heads[i].store(nullptr, std::memory_order_relaxed);
    }
    std::size_t size() const noexcept { return mask + 1; }
    const std::size_t mask;
    std::unique_ptr<std::atomic<node*>[]> heads;
  };
  struct alignas(64) shard {
    std::atomic<bucket_array*> buckets{nullptr};
    std::atomic<std::uint64_t> resize_seq{0}; // odd while the shard grows
    alignas(64) mutable std::mutex mtx;       // own line: readers never touch it
    std::size_t nodes = 0;
    std::atomic<std::size_t> live{0};
  };

  shard& shard_of(std::size_t hash) const noexcept { return shards_[(hash >> 32) & shard_mask_]; }
  static node* find_in(const bucket_array& b, std::string_view key, std::size_t hash) noexcept;
  node* find_or_insert_locked(shard& s, std::string_view key, std::size_t hash);
  void grow_locked(shard& s);

  const std::size_t shard_mask_;
  std::unique_ptr<shard[]> shards_;
  std::atomic<std::uint64_t> version_clock_{0};
};

} // namespace corral
