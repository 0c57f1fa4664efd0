#include "runtime/entry_table.hpp"

#include <functional>

#include "runtime/epoch.hpp"

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
      auto* n = b->heads[j].load(std::memory_order_relaxed);
      while (n != nullptr) {
        auto* next = n->next.load(std::memory_order_relaxed);
        delete n->current.load(std::memory_order_relaxed);
        delete n;
        n = next;
      }
    }
    delete b;
  }
}

std::size_t entry_table::hash_key(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}

std::uint32_t entry_table::tick_of(time_point t) noexcept {
  // ~16.8 ms per tick: fine enough for LRU, coarse enough that hot keys rarely write.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> 24);
}

entry_table::node* entry_table::find_in(const bucket_array& b, std::string_view key,
                                        std::size_t hash) noexcept {
  auto* n = b.heads[hash & b.mask].load(std::memory_order_acquire);
  while (n != nullptr) {
    if (n->hash == hash && n->key == key)
      return n;
    n = n->next.load(std::memory_order_acquire);
  }
  return nullptr;
}

const entry_table::node* entry_table::find_node(std::string_view key,
                                                std::size_t hash) const noexcept {
  auto& s = shard_of(hash);
  return find_in(*s.buckets.load(std::memory_order_acquire), key, hash);
}

const entry* entry_table::find_exact(std::string_view key) const {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  auto seq = s.resize_seq.load(std::memory_order_acquire);
  if ((seq & 1) == 0) {
    if (auto* n = find_in(*s.buckets.load(std::memory_order_acquire), key, hash))
      return n->current.load(std::memory_order_acquire);
    // The chain was read with acquire loads, so this second read cannot move before them.
    if (s.resize_seq.load(std::memory_order_relaxed) == seq)
      return nullptr;
  }
  std::lock_guard<std::mutex> guard{s.mtx};
  auto* n = find_in(*s.buckets.load(std::memory_order_relaxed), key, hash);
  return n != nullptr ? n->current.load(std::memory_order_relaxed) : nullptr;
}

entry_table::node* entry_table::find_or_insert_locked(shard& s, std::string_view key,
                                                      std::size_t hash) {
  auto* b = s.buckets.load(std::memory_order_relaxed);
  if (auto* n = find_in(*b, key, hash))
    return n;
  if (s.nodes >= b->size()) {
    grow_locked(s);
    b = s.buckets.load(std::memory_order_relaxed);
  }
  auto* n = new node(hash, key);
  auto& head = b->heads[hash & b->mask];
  n->next.store(head.load(std::memory_order_relaxed), std::memory_order_relaxed);
  head.store(n, std::memory_order_release);
  ++s.nodes;
  return n;
}

void entry_table::grow_locked(shard& s) {
  auto* old_b = s.buckets.load(std::memory_order_relaxed);
  auto* new_b = new bucket_array(old_b->size() * 2);
  s.resize_seq.fetch_add(1, std::memory_order_acq_rel); // odd: exact readers take the lock
  // Relinking nodes in place is safe for lock-free readers: every chain they can follow stays
  // acyclic and ends in null; at worst they miss a key and fall back to the slow path.
  for (std::size_t i = 0; i < old_b->size(); ++i) {
    auto* n = old_b->heads[i].load(std::memory_order_relaxed);
    while (n != nullptr) {
      auto* next = n->next.load(std::memory_order_relaxed);
      auto& head = new_b->heads[n->hash & new_b->mask];
      n->next.store(head.load(std::memory_order_relaxed), std::memory_order_release);
      head.store(n, std::memory_order_release);
      n = next;
    }
  }
  s.buckets.store(new_b, std::memory_order_release);
  s.resize_seq.fetch_add(1, std::memory_order_acq_rel);
  detail::retire_object(old_b);
}

bool entry_table::publish(std::string_view key, std::unique_ptr<entry>& e, std::uint64_t version,
                          time_point now) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  const entry* old = nullptr;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* n = find_or_insert_locked(s, key, hash);
    if (version <= n->version)
      return false;
    n->version = version;
    n->access_tick.store(tick_of(now), std::memory_order_relaxed);
    old = n->current.exchange(e.release(), std::memory_order_acq_rel);
    if (old == nullptr)
      s.live.fetch_add(1, std::memory_order_relaxed);
  }
  detail::retire_object(const_cast<entry*>(old));
  return true;
}

bool entry_table::erase(std::string_view key, std::uint64_t version) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  const entry* old = nullptr;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* n = find_or_insert_locked(s, key, hash);
    if (version <= n->version)
      return false;
    n->version = version;
    old = n->current.exchange(nullptr, std::memory_order_acq_rel);
    if (old != nullptr)
      s.live.fetch_sub(1, std::memory_order_relaxed);
  }
  detail::retire_object(const_cast<entry*>(old));
  return old != nullptr;
}

bool entry_table::evict(std::string_view key) {
  auto hash = hash_key(key);
  auto& s = shard_of(hash);
  node* victim = nullptr;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* b = s.buckets.load(std::memory_order_relaxed);
    auto* prev = &b->heads[hash & b->mask];
    for (auto* n = prev->load(std::memory_order_relaxed); n != nullptr;
         n = n->next.load(std::memory_order_relaxed)) {
      if (n->hash == hash && n->key == key) {
        // Readers standing on `n` still see its successor: unlinking never breaks a chain.
        prev->store(n->next.load(std::memory_order_relaxed), std::memory_order_release);
        victim = n;
        break;
      }
      prev = &n->next;
    }
    if (victim == nullptr)
      return false;
    --s.nodes;
    if (victim->current.load(std::memory_order_relaxed) != nullptr)
      s.live.fetch_sub(1, std::memory_order_relaxed);
  }
  detail::retire_object(const_cast<entry*>(victim->current.load(std::memory_order_relaxed)));
  detail::retire_object(victim);
  return true;
}

std::size_t entry_table::size() const noexcept {
  std::size_t total = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i)
    total += shards_[i].live.load(std::memory_order_relaxed);
  return total;
}

std::vector<entry_table::sample_item> entry_table::sample(std::size_t n,
                                                          std::mt19937_64& rng) const {
  std::vector<sample_item> out;
  auto add = [&](const node& nd) {
    const auto* e = nd.current.load(std::memory_order_relaxed);
    out.push_back({nd.key, nd.access_tick.load(std::memory_order_relaxed),
                   e != nullptr ? e->expires_at : time_point::max(), e != nullptr});
  };
  std::size_t total_nodes = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    std::lock_guard<std::mutex> guard{shards_[i].mtx};
    total_nodes += shards_[i].nodes;
  }
  if (n >= total_nodes) { // small table: every key, exactly
    for (std::size_t i = 0; i <= shard_mask_; ++i) {
      std::lock_guard<std::mutex> guard{shards_[i].mtx};
      auto* b = shards_[i].buckets.load(std::memory_order_relaxed);
      for (std::size_t j = 0; j < b->size(); ++j)
        for (auto* nd = b->heads[j].load(std::memory_order_relaxed); nd != nullptr;
             nd = nd->next.load(std::memory_order_relaxed))
          add(*nd);
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
    for (auto* nd = head; nd != nullptr; nd = nd->next.load(std::memory_order_relaxed))
      ++len;
    if (len == 0)
      continue;
    auto* nd = head;
    for (auto skip = rng() % len; skip > 0; --skip)
      nd = nd->next.load(std::memory_order_relaxed);
    add(*nd);
  }
  return out;
}

} // namespace corral
