#include <corral/runtime/engine/entry_table.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <unordered_set>

#include <corral/runtime/engine/epoch.hpp>

namespace corral {

namespace {

constexpr std::size_t initial_buckets = 16;

std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

} // namespace

entry_table::garbage::~garbage() {
  detail::retire_object(old_entry);
  detail::retire_object(old_buckets);
}

entry_table::entry_table(std::size_t shard_count)
    : shard_mask_(round_up_pow2(shard_count == 0 ? 1 : shard_count) - 1),
      shards_(new shard[shard_mask_ + 1]) {
  for (std::size_t i = 0; i <= shard_mask_; ++i)
    shards_[i].buckets.store(new bucket_array(initial_buckets), std::memory_order_release);
}

entry_table::~entry_table() {
  // No reader may remain: free directly instead of retiring.
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    auto* b = shards_[i].buckets.load(std::memory_order_acquire);
    for (std::size_t j = 0; j < b->size(); ++j) {
      auto* e = b->heads[j].load(std::memory_order_relaxed);
      while (e != nullptr) {
        auto* next = e->next.load(std::memory_order_relaxed);
        delete e;
        e = next;
      }
    }
    delete b;
  }
}

std::uint64_t entry_table::initial_version() noexcept {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

std::size_t entry_table::hash_key(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}

std::uint32_t entry_table::tick_of(time_point t) noexcept {
  // ~16.8 ms per tick: fine enough for LRU, coarse enough that hot keys rarely write.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> 24);
}

entry* entry_table::find_in(const bucket_array& b, std::string_view key,
                            std::size_t hash) noexcept {
  auto* e = b.heads[hash & b.mask].load(std::memory_order_acquire);
  while (e != nullptr) {
    if (e->hash == hash && e->key == key)
      return e;
    e = e->next.load(std::memory_order_acquire);
  }
  return nullptr;
}

const entry* entry_table::find(std::string_view key, std::size_t hash) const noexcept {
  auto& s = shard_of(hash);
  return find_in(*s.buckets.load(std::memory_order_acquire), key, hash);
}

const entry* entry_table::find_exact(std::string_view key) const {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  auto seq = s.resize_seq.load(std::memory_order_acquire);
  if ((seq & 1) == 0) {
    if (const entry* e = find_in(*s.buckets.load(std::memory_order_acquire), key, hash))
      return e;
    // The chain was read with acquire loads, so this second read cannot move before them.
    if (s.resize_seq.load(std::memory_order_relaxed) == seq)
      return nullptr;
  }
  std::lock_guard<std::mutex> guard{s.mtx};
  return find_in(*s.buckets.load(std::memory_order_relaxed), key, hash);
}

entry_table::position entry_table::locate_locked(shard& s, std::string_view key, std::size_t hash) {
  auto* b = s.buckets.load(std::memory_order_relaxed);
  auto* head = &b->heads[hash & b->mask];
  for (auto* link = head;;) {
    auto* e = link->load(std::memory_order_relaxed);
    if (e == nullptr)
      return {head, nullptr};
    if (e->hash == hash && e->key == key)
      return {link, e};
    link = &e->next;
  }
}

void entry_table::replace_locked(shard& s, position pos, entry* fresh, garbage& g) {
  s.weight.fetch_add(fresh->weight, std::memory_order_relaxed);
  if (pos.current != nullptr) {
    // A new value of the same key keeps the key's standing with the eviction policy.
    fresh->frequency.store(pos.current->frequency.load(std::memory_order_relaxed),
                           std::memory_order_relaxed);
    fresh->in_window.store(pos.current->in_window.load(std::memory_order_relaxed),
                           std::memory_order_relaxed);
    s.weight.fetch_sub(pos.current->weight, std::memory_order_relaxed);
    // Readers standing on the old entry still follow its `next`: the chain stays intact.
    fresh->next.store(pos.current->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
    pos.link->store(fresh, std::memory_order_release);
    g.old_entry = pos.current;
    return;
  }
  fresh->in_window.store(true, std::memory_order_relaxed); // a new key starts in the window
  fresh->next.store(pos.link->load(std::memory_order_relaxed), std::memory_order_relaxed);
  pos.link->store(fresh, std::memory_order_release);
  s.entries.fetch_add(1, std::memory_order_relaxed);
}

void entry_table::unlink_locked(shard& s, position pos, garbage& g) {
  pos.link->store(pos.current->next.load(std::memory_order_relaxed), std::memory_order_release);
  s.entries.fetch_sub(1, std::memory_order_relaxed);
  s.weight.fetch_sub(pos.current->weight, std::memory_order_relaxed);
  g.old_entry = pos.current;
}

void entry_table::grow_locked(shard& s, garbage& g) {
  auto* old_b = s.buckets.load(std::memory_order_relaxed);
  auto* new_b = new bucket_array(old_b->size() * 2);
  s.resize_seq.fetch_add(1, std::memory_order_acq_rel); // odd: exact readers take the lock
  // Relinking entries in place is safe for lock-free readers: every chain they can follow
  // stays acyclic and ends in null; at worst they miss a key and fall back to the slow path.
  for (std::size_t i = 0; i < old_b->size(); ++i) {
    auto* e = old_b->heads[i].load(std::memory_order_relaxed);
    while (e != nullptr) {
      auto* next = e->next.load(std::memory_order_relaxed);
      auto& head = new_b->heads[e->hash & new_b->mask];
      e->next.store(head.load(std::memory_order_relaxed), std::memory_order_release);
      head.store(e, std::memory_order_release);
      e = next;
    }
  }
  s.buckets.store(new_b, std::memory_order_release);
  s.resize_seq.fetch_add(1, std::memory_order_acq_rel);
  g.old_buckets = old_b;
}

std::optional<entry_table::position> entry_table::claim_locked(shard& s, std::string_view key,
                                                               std::size_t hash,
                                                               std::uint64_t version, bool dirty,
                                                               garbage& g) {
  auto pos = locate_locked(s, key, hash);
  if (pos.current == nullptr && version <= s.floor_of(hash))
    return std::nullopt; // a load older than the key's removal
  if (pos.current != nullptr && version <= pos.current->version)
    return std::nullopt;
  if (pos.current != nullptr && !dirty && (pos.current->dirty || version < pos.current->load_floor))
    return std::nullopt; // an unwritten value, or a load older than its write
  if (pos.current == nullptr && s.entries.load(std::memory_order_relaxed) >=
                                    s.buckets.load(std::memory_order_relaxed)->size()) {
    grow_locked(s, g);
    pos = locate_locked(s, key, hash);
  }
  return pos;
}

bool entry_table::store(std::string_view key, std::unique_ptr<entry>& e,
                        std::optional<std::uint64_t> version, std::uint32_t tick, bool* inserted) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  garbage g; // destroyed after `guard`: retires outside the shard lock
  std::lock_guard<std::mutex> guard{s.mtx};
  auto v = version ? *version : next_version(); // under the lock: newer than all stored
  auto pos = claim_locked(s, key, hash, v, e->dirty, g);
  if (!pos)
    return false;
  if (e->dirty && !(pos->current != nullptr && pos->current->dirty)) {
    s.dirty_keys.emplace_back(key);
    dirty_total_.fetch_add(1, std::memory_order_relaxed);
  }
  e->hash = hash;
  e->key.assign(key);
  e->version = v;
  e->access_tick.store(tick, std::memory_order_relaxed);
  if (inserted != nullptr)
    *inserted = pos->current == nullptr;
  replace_locked(s, *pos, e.release(), g);
  return true;
}

bool entry_table::publish(std::string_view key, std::unique_ptr<entry>& e, std::uint64_t version,
                          time_point now, bool* inserted) {
  return store(key, e, version, tick_of(now), inserted);
}

bool entry_table::publish_newest(std::string_view key, std::unique_ptr<entry>& e, time_point now,
                                 bool* inserted) {
  return store(key, e, std::nullopt, tick_of(now), inserted);
}

template <class Pred> bool entry_table::remove_if(std::string_view key, Pred pred) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  garbage g; // destroyed after `guard`: retires outside the shard lock
  std::lock_guard<std::mutex> guard{s.mtx};
  auto pos = locate_locked(s, key, hash);
  if (!pred(s, hash, pos.current))
    return false;
  unlink_locked(s, pos, g);
  return true;
}

bool entry_table::erase(std::string_view key) {
  return remove_if(key, [this](shard& s, std::size_t hash, const entry* e) {
    if (e != nullptr && e->dirty)
      return false; // unwritten: neither dropped nor fenced (no load can replace it)
    s.floor_of(hash) = next_version(); // newer than every load that started before
    return e != nullptr;
  });
}

bool entry_table::evict(std::string_view key) {
  return remove_if(key, [](shard& s, std::size_t hash, const entry* e) {
    if (e == nullptr || e->dirty)
      return false;
    // A load older than the entry (or than its write, for write-behind) was refused while the
    // entry was there; it must stay refused once the entry is gone. Loads that started after
    // the entry was stored are not affected, and pruning evicts the least recently used.
    auto& floor = s.floor_of(hash);
    floor = std::max({floor, e->version, e->load_floor});
    return true;
  });
}

std::vector<entry_table::dirty_item> entry_table::take_dirty(std::size_t max) {
  std::vector<dirty_item> out;
  std::size_t shards = shard_mask_ + 1;
  for (std::size_t n = 0; n < shards && out.size() < max; ++n) {
    auto& s = shards_[dirty_cursor_];
    dirty_cursor_ = (dirty_cursor_ + 1) % shards;
    std::lock_guard<std::mutex> guard{s.mtx};
    auto& keys = s.dirty_keys;
    // Compacts as it goes: clean, evicted and repeated keys leave the list.
    std::size_t keep = 0;
    std::unordered_set<const entry*> seen; // a key's current entry is unique to it
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto pos = locate_locked(s, keys[i], hash_key(keys[i]));
      if (pos.current == nullptr || !pos.current->dirty || !seen.insert(pos.current).second)
        continue;
      if (out.size() < max)
        out.push_back({keys[i], pos.current->version});
      if (keep != i)
        keys[keep] = std::move(keys[i]);
      ++keep;
    }
    keys.resize(keep);
  }
  return out;
}

bool entry_table::mark_clean(std::string_view key, std::uint64_t version) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto pos = locate_locked(s, key, hash);
  if (pos.current == nullptr || !pos.current->dirty || pos.current->version != version)
    return false;
  pos.current->dirty = false;
  pos.current->load_floor = next_version();
  dirty_total_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

bool entry_table::republish(std::string_view key, std::unique_ptr<entry>& e,
                            std::uint64_t version) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  garbage g; // destroyed after `guard`: retires outside the shard lock
  std::lock_guard<std::mutex> guard{s.mtx};
  auto pos = locate_locked(s, key, hash);
  if (pos.current == nullptr || pos.current->version != version)
    return false;
  e->hash = hash;
  e->key.assign(key);
  e->version = version;
  e->dirty = pos.current->dirty.load();
  e->load_floor = pos.current->load_floor;
  e->access_tick.store(pos.current->access_tick.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
  if (e->weight == 0)
    e->weight = pos.current->weight; // a merge of store-owned fields keeps the value's weight
  replace_locked(s, pos, e.release(), g);
  return true;
}

std::size_t entry_table::size() const noexcept {
  std::size_t total = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i)
    total += shards_[i].entries.load(std::memory_order_relaxed);
  return total;
}

std::size_t entry_table::weight() const noexcept {
  std::size_t total = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i)
    total += shards_[i].weight.load(std::memory_order_relaxed);
  return total;
}

std::vector<entry_table::sample_item> entry_table::sample(std::size_t n,
                                                          std::mt19937_64& rng) const {
  std::vector<sample_item> out;
  auto add = [&](const entry& e) {
    out.push_back({e.key, e.access_tick.load(std::memory_order_relaxed), e.expires_at, e.hash,
                   e.frequency.load(std::memory_order_relaxed),
                   e.in_window.load(std::memory_order_relaxed),
                   e.dirty.load(std::memory_order_relaxed), e.weight});
  };
  if (n >= size()) { // small table: every key, exactly
    for (std::size_t i = 0; i <= shard_mask_; ++i) {
      std::lock_guard<std::mutex> guard{shards_[i].mtx};
      auto* b = shards_[i].buckets.load(std::memory_order_relaxed);
      for (std::size_t j = 0; j < b->size(); ++j)
        for (auto* e = b->heads[j].load(std::memory_order_relaxed); e != nullptr;
             e = e->next.load(std::memory_order_relaxed))
          add(*e);
    }
    return out;
  }
  out.reserve(n);
  // Bounded number of probes: a sparse table must not spin. A probe picks a random bucket and a
  // random position in its chain, so keys behind a bucket head are sampled too.
  for (std::size_t probes = 0; out.size() < n && probes < n * 8; ++probes) {
    auto& s = shards_[rng() & shard_mask_];
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* b = s.buckets.load(std::memory_order_relaxed);
    auto* head = b->heads[rng() & b->mask].load(std::memory_order_relaxed);
    std::size_t len = 0;
    for (auto* e = head; e != nullptr; e = e->next.load(std::memory_order_relaxed))
      ++len;
    if (len == 0)
      continue;
    auto* e = head;
    for (auto skip = rng() % len; skip > 0; --skip)
      e = e->next.load(std::memory_order_relaxed);
    add(*e);
  }
  return out;
}

bool entry_table::reclaimable(const entry& e, time_point now,
                              std::chrono::nanoseconds value_grace) noexcept {
  if (e.dirty.load(std::memory_order_relaxed) || now < e.expires_at)
    return false;
  return e.kind == entry_kind::not_found || now - e.expires_at >= value_grace;
}

entry_table::sweep_result entry_table::reclaim_expired(sweep_cursor& c, std::size_t budget,
                                                       time_point now,
                                                       std::chrono::nanoseconds value_grace) {
  // Buckets visited per lock hold: writers of the shard wait at most this long.
  constexpr std::size_t buckets_per_lock = 256;
  sweep_result r;
  std::vector<entry*> doomed; // retired after the lock is released, as every write does
  std::size_t shards_left = shard_mask_ + 1; // at most one round per call (a small table)
  while (r.examined < budget && shards_left > 0) {
    auto& s = shards_[c.shard];
    bool shard_done = false;
    {
      std::lock_guard<std::mutex> guard{s.mtx};
      auto* b = s.buckets.load(std::memory_order_relaxed);
      auto end = std::min(b->size(), c.bucket + buckets_per_lock);
      for (; c.bucket < end && r.examined < budget; ++c.bucket) {
        auto* link = &b->heads[c.bucket];
        while (auto* e = link->load(std::memory_order_relaxed)) {
          ++r.examined;
          if (!reclaimable(*e, now, value_grace)) {
            link = &e->next;
            continue;
          }
          auto& floor = s.floor_of(e->hash);
          floor = std::max({floor, e->version, e->load_floor});
          garbage g;
          unlink_locked(s, {link, e}, g); // `link` now points at e's successor
          doomed.push_back(g.old_entry);
          g.old_entry = nullptr;
          ++r.reclaimed;
        }
      }
      shard_done = c.bucket >= b->size();
    }
    for (auto* e : doomed)
      detail::retire_object(e);
    doomed.clear();
    if (shard_done) {
      c.bucket = 0;
      c.shard = (c.shard + 1) & shard_mask_;
      if (c.shard == 0)
        ++c.rounds;
      --shards_left;
    }
  }
  return r;
}

} // namespace corral
