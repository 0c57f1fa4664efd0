#include <corral/runtime/engine/key_registry.hpp>

#include <iterator>

namespace corral {

struct key_registry::slot {
  key_actor actor;
  std::uint64_t routed = 0; // messages routed to `actor` so far
  bool idle = false;        // in its shard's idle list
  time_point idle_since{};
  const std::string* key = nullptr; // the map node's key (stable: the map is node-based)
  slot* prev = nullptr;             // idle list, oldest first
  slot* next = nullptr;
};

struct alignas(64) key_registry::shard {
  mutable std::mutex mtx;
  std::unordered_map<std::string, slot> slots;
  slot* idle_head = nullptr;
  slot* idle_tail = nullptr;
};

key_registry::key_registry(std::size_t shard_count)
    : shards_(new shard[shard_count]), shard_count_(shard_count) {}

key_registry::~key_registry() = default;

key_registry::shard& key_registry::shard_of(std::size_t hash) const noexcept {
  // The table's shard index uses the hash's low bits; the high ones spread keys here.
  return shards_[(hash >> 32) % shard_count_];
}

void key_registry::link_idle(shard& s, slot& x, time_point now) {
  x.idle = true;
  x.idle_since = now;
  x.next = nullptr;
  x.prev = s.idle_tail;
  if (s.idle_tail != nullptr)
    s.idle_tail->next = &x;
  else
    s.idle_head = &x;
  s.idle_tail = &x;
  idle_.fetch_add(1, std::memory_order_relaxed);
}

void key_registry::unlink_idle(shard& s, slot& x) {
  if (!x.idle)
    return;
  (x.prev != nullptr ? x.prev->next : s.idle_head) = x.next;
  (x.next != nullptr ? x.next->prev : s.idle_tail) = x.prev;
  x.prev = x.next = nullptr;
  x.idle = false;
  idle_.fetch_sub(1, std::memory_order_relaxed);
}

key_actor key_registry::take(shard& s, slot& x) {
  unlink_idle(s, x);
  auto actor = std::move(x.actor);
  s.slots.erase(*x.key);
  resident_.fetch_sub(1, std::memory_order_relaxed);
  return actor;
}

key_actor key_registry::route(const std::string& key, std::size_t hash, std::size_t limit,
                              std::vector<key_actor>& retired) {
  auto& s = shard_of(hash);
  std::unique_lock<std::mutex> guard{s.mtx};
  if (closed_.load(std::memory_order_relaxed))
    return {};
  auto i = s.slots.find(key);
  if (i == s.slots.end() && limit > 0 && resident() >= limit) {
    guard.unlock(); // retiring locks other shards: never hold two shard locks
    auto more = retire_longest_idle(limit);
    retired.insert(retired.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
    guard.lock();
    if (closed_.load(std::memory_order_relaxed))
      return {};
    i = s.slots.find(key);
  }
  if (i == s.slots.end()) {
    auto actor = spawn_(key, hash);
    if (!actor)
      return {};
    i = s.slots.emplace(key, slot{}).first;
    i->second.actor = std::move(actor);
    i->second.key = &i->first;
    resident_.fetch_add(1, std::memory_order_relaxed);
  }
  auto& x = i->second;
  unlink_idle(s, x);
  ++x.routed;
  return x.actor;
}

void key_registry::mark_idle(const std::string& key, std::size_t hash, const caf::actor_addr& self,
                             std::uint64_t handled, time_point now) {
  auto& s = shard_of(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.slots.find(key);
  if (i == s.slots.end())
    return;
  auto& x = i->second;
  // A report from a retired actor (the slot holds its successor), or one that does not cover
  // every routed message, says nothing about the actor now.
  if (x.idle || x.routed != handled || x.actor.address() != self)
    return;
  link_idle(s, x, now);
}

void key_registry::forget(const std::string& key, std::size_t hash, const caf::actor_addr& self) {
  if (closed_.load(std::memory_order_relaxed))
    return;
  auto& s = shard_of(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.slots.find(key);
  if (i != s.slots.end() && i->second.actor.address() == self)
    take(s, i->second);
}

std::vector<key_actor> key_registry::retire_idle_before(time_point cutoff) {
  std::vector<key_actor> out;
  for (std::size_t n = 0; n < shard_count_; ++n) {
    auto& s = shards_[n];
    std::lock_guard<std::mutex> guard{s.mtx};
    while (s.idle_head != nullptr && s.idle_head->idle_since <= cutoff)
      out.push_back(take(s, *s.idle_head));
  }
  return out;
}

std::vector<key_actor> key_registry::retire_longest_idle(std::size_t limit) {
  std::vector<key_actor> out;
  while (resident() >= limit && idle() > 0) {
    // The oldest idle actor is at the head of some shard's list: look at every head once.
    shard* oldest = nullptr;
    auto since = time_point::max();
    for (std::size_t n = 0; n < shard_count_; ++n) {
      auto& s = shards_[n];
      std::lock_guard<std::mutex> guard{s.mtx};
      if (s.idle_head != nullptr && s.idle_head->idle_since < since) {
        since = s.idle_head->idle_since;
        oldest = &s;
      }
    }
    if (oldest == nullptr)
      break;
    std::lock_guard<std::mutex> guard{oldest->mtx};
    if (oldest->idle_head != nullptr) // it may have been routed to meanwhile: then look again
      out.push_back(take(*oldest, *oldest->idle_head));
  }
  return out;
}

bool key_registry::contains(const std::string& key, std::size_t hash) const {
  auto& s = shard_of(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  return s.slots.count(key) > 0;
}

bool key_registry::busy(const std::string& key, std::size_t hash) const {
  auto& s = shard_of(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.slots.find(key);
  return i != s.slots.end() && !i->second.idle;
}

std::vector<key_actor> key_registry::close() {
  std::vector<key_actor> out;
  out.reserve(resident());
  // A route holding a shard's lock either runs before close() visits that shard (its actor is
  // collected here) or after (and then sees closed_ through the lock).
  closed_.store(true, std::memory_order_relaxed);
  for (std::size_t n = 0; n < shard_count_; ++n) {
    auto& s = shards_[n];
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto& kv : s.slots)
      out.push_back(std::move(kv.second.actor));
    s.slots.clear();
    s.idle_head = s.idle_tail = nullptr;
  }
  resident_.store(0, std::memory_order_relaxed);
  idle_.store(0, std::memory_order_relaxed);
  return out;
}

} // namespace corral
