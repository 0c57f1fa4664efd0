// Which keys of a cache have a resident actor, and the handshake that lets an idle one go
// without losing a message routed to it.
//
// Requesters on any thread find (or spawn) a key's actor here, instead of asking the cache's
// supervisor, so misses on different keys never queue behind one actor. Each slot counts the
// messages routed to its actor; an idle actor reports how many of them it has handled, and it
// is retired (passivated) only while the two counts are equal, under the shard's lock. A message
// routed after that finds no slot and spawns a fresh actor; one routed before keeps the actor.
//
// Idle actors are kept per shard in the order they became idle, so that passivating the ones
// idle too long, and making room under max_resident_actors, cost O(actors passivated) plus one
// look at each shard's oldest: never a scan of every resident actor, never a per-actor timer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/entry.hpp>

namespace corral {

class key_registry {
public:
  /// Spawns the actor of a key (called under the key's shard lock, so at most once per key).
  using spawner = std::function<key_actor(const std::string& key, std::size_t hash)>;

  explicit key_registry(std::size_t shard_count = 64);
  ~key_registry();
  key_registry(const key_registry&) = delete;
  key_registry& operator=(const key_registry&) = delete;

  /// Set once, before the first route.
  void set_spawner(spawner s) { spawn_ = std::move(s); }

  /// The key's actor, spawned when absent, with one more message counted as routed to it (the
  /// caller must send it exactly one routed message). Null once closed. When `limit` (0 = none)
  /// actors are resident already, the longest-idle ones are retired first to make room: they
  /// are added to `retired`, and the caller sends each a passivate message.
  key_actor route(const std::string& key, std::size_t hash, std::size_t limit,
                  std::vector<key_actor>& retired);

  /// From the key's actor `self`: it has handled `handled` routed messages and has nothing to
  /// do (no waiter, no load). It becomes a passivation candidate unless a message routed to it
  /// is still unhandled, or the slot holds another actor already.
  void mark_idle(const std::string& key, std::size_t hash, const caf::actor_addr& self,
                 std::uint64_t handled, time_point now);

  /// Drops the slot of an actor that ended on its own (a failure), if the slot still holds it.
  void forget(const std::string& key, std::size_t hash, const caf::actor_addr& self);

  /// Retires every actor idle since before `cutoff`; the caller sends each a passivate message.
  std::vector<key_actor> retire_idle_before(time_point cutoff);

  /// Retires the longest-idle actors until fewer than `limit` are resident or none is idle.
  std::vector<key_actor> retire_longest_idle(std::size_t limit);

  /// Whether the key has a resident actor.
  bool contains(const std::string& key, std::size_t hash) const;

  /// Whether the key's actor is resident and not idle (a load or a waiter in progress).
  bool busy(const std::string& key, std::size_t hash) const;

  std::size_t resident() const noexcept { return resident_.load(std::memory_order_relaxed); }
  std::size_t idle() const noexcept { return idle_.load(std::memory_order_relaxed); }

  /// Closes the registry: every later route returns null. Returns every resident actor; the
  /// caller stops them.
  std::vector<key_actor> close();

private:
  struct slot;
  struct shard;
  shard& shard_of(std::size_t hash) const noexcept;
  void link_idle(shard& s, slot& x, time_point now);
  void unlink_idle(shard& s, slot& x);
  /// Removes `x` from its shard (its idle link too) and returns its actor.
  key_actor take(shard& s, slot& x);

  std::unique_ptr<shard[]> shards_;
  std::size_t shard_count_;
  spawner spawn_;
  std::atomic<bool> closed_{false};
  std::atomic<std::size_t> resident_{0};
  std::atomic<std::size_t> idle_{0};
};

} // namespace corral
