#include <corral/runtime/engine/eviction_policy.hpp>

#include <algorithm>

#include <corral/runtime/engine/epoch.hpp>

namespace corral {

namespace {

/// Sampled main entries per eviction: Redis uses 5, more gets closer to exact LFU/LRU.
constexpr std::size_t victim_samples = 8;
/// The sketch's size when only max_weight bounds the cache (no entry count to size it by).
constexpr std::size_t weight_only_capacity = 65536;
/// Up to this many entries, every eviction looks at all of them.
constexpr std::size_t small_table = 64;

} // namespace

eviction_policy::eviction_policy(std::size_t max_entries, std::size_t max_weight)
    : max_entries_(max_entries), max_weight_(max_weight),
      sketch_(max_entries > 0 ? max_entries : (max_weight > 0 ? weight_only_capacity : 64)) {}

bool eviction_policy::over(const entry_table& t) const noexcept {
  return (max_entries_ > 0 && t.size() > max_entries_) ||
         (max_weight_ > 0 && t.weight() > max_weight_);
}

std::size_t eviction_policy::window_capacity(const entry_table& t) const noexcept {
  auto capacity = max_entries_ > 0 ? max_entries_ : t.size();
  return std::max<std::size_t>(1, capacity / 100);
}

std::size_t eviction_policy::window_size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return window_.size();
}

void eviction_policy::record_insert(const entry_table& t, std::string_view key, std::size_t hash) {
  std::lock_guard<std::mutex> guard{mtx_};
  sketch_.increment(hash);
  sync_round();
  window_.emplace_back(key);
  if (over(t))
    return; // evict_one takes the window's oldest as its candidate
  for (auto capacity = window_capacity(t); window_.size() > capacity; window_.pop_front())
    admit(t, window_.front());
}

// A resident count is halved once, however many aging rounds it missed: halving it per round
// let sketch collisions (a new key estimated at 2) outrank hot keys after two rounds of a long
// scan (tests/eviction_policy_test.cpp kept 322 or 368 of 500 hot keys with 4 or 2 halvings,
// 500 with one). The cost: a key that stops being read keeps half its count while resident,
// and leaves among its equals by recency.
unsigned eviction_policy::aged_resident(std::uint8_t resident) const noexcept {
  unsigned missed = (static_cast<unsigned>(sketch_.resets()) - (resident >> 4)) & 0xF;
  return (resident & 0xFu) >> std::min(missed, 1u);
}

unsigned eviction_policy::frequency_of(std::size_t hash, std::uint8_t resident) const {
  return std::min(15u, sketch_.estimate(hash) + aged_resident(resident));
}

void eviction_policy::admit(const entry_table& t, const std::string& key) {
  detail::epoch_guard guard;
  if (const entry* e = t.find_exact(key))
    e->in_window.store(false, std::memory_order_relaxed);
}

std::optional<entry_table::sample_item> eviction_policy::window_candidate(const entry_table& t,
                                                                          bool any) {
  auto capacity = any ? 0 : window_capacity(t);
  while (window_.size() > capacity) {
    auto key = std::move(window_.front());
    window_.pop_front();
    detail::epoch_guard guard;
    const entry* e = t.find_exact(key);
    if (e == nullptr || !e->in_window.load(std::memory_order_relaxed))
      continue; // removed meanwhile (or a repeated key already admitted)
    return entry_table::sample_item{std::move(key),
                                    e->access_tick.load(std::memory_order_relaxed),
                                    e->expires_at,
                                    e->hash,
                                    e->frequency.load(std::memory_order_relaxed),
                                    true,
                                    e->dirty.load(std::memory_order_relaxed),
                                    e->weight};
  }
  return std::nullopt;
}

std::optional<entry_table::sample_item>
eviction_policy::main_victim(const entry_table& t, const busy_fn& busy, time_point now) {
  auto tick_now = entry_table::tick_of(now);
  std::optional<entry_table::sample_item> best;
  std::uint64_t best_rank = 0;
  // A small table is examined whole (exact, and random probes of a sparse table find little).
  auto n = t.size() <= small_table ? small_table : victim_samples;
  for (auto& c : t.sample(n, rng_)) {
    if (c.in_window || c.dirty || busy(c.key, c.hash))
      continue;
    // Expired first, then lowest frequency, then least recently read.
    std::uint64_t age = static_cast<std::uint32_t>(tick_now - c.access_tick);
    std::uint64_t rank = c.expires_at <= now
                             ? UINT64_MAX
                             : (std::uint64_t{15 - frequency_of(c.hash, c.frequency)} << 32) | age;
    if (!best || rank > best_rank) {
      best_rank = rank;
      best = std::move(c);
    }
  }
  return best;
}

bool eviction_policy::evict(entry_table& t, const entry_table::sample_item& item) {
  if (!t.evict(item.key))
    return false;
  // Remembered for the key's return: its resident reads join its insert count.
  sketch_.add(item.hash, aged_resident(item.frequency));
  sync_round();
  return true;
}

std::optional<eviction_policy::eviction>
eviction_policy::evict_one(entry_table& t, const busy_fn& busy, time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto why = max_entries_ > 0 && t.size() > max_entries_ ? cause::size : cause::weight;
  auto candidate = window_candidate(t, false);
  auto victim = main_victim(t, busy, now);
  auto can_go = [&](const entry_table::sample_item& c) { return !c.dirty && !busy(c.key, c.hash); };
  if (candidate && !can_go(*candidate)) {
    admit(t, candidate->key); // cannot leave now: it joins the main region unopposed
    candidate.reset();
  }
  // Only window keys are evictable (or nothing): the window's oldest that may go.
  for (std::size_t tries = 0; !candidate && !victim && tries < victim_samples; ++tries) {
    candidate = window_candidate(t, true);
    if (!candidate)
      break;
    if (!can_go(*candidate)) {
      admit(t, candidate->key);
      candidate.reset();
    }
  }
  if (candidate && victim) {
    bool expired = candidate->expires_at <= now;
    // Ties go to the resident victim (TinyLFU): a scan or a loop cannot flush the main region.
    if (expired || frequency_of(candidate->hash, candidate->frequency) <=
                       frequency_of(victim->hash, victim->frequency)) {
      if (evict(t, *candidate))
        return eviction{candidate->key, why, true};
    } else {
      admit(t, candidate->key);
      if (evict(t, *victim))
        return eviction{victim->key, why, false};
    }
    return std::nullopt;
  }
  if (candidate) { // no evictable main entry: the window's oldest goes
    if (evict(t, *candidate))
      return eviction{candidate->key, why, false};
    return std::nullopt;
  }
  if (victim && evict(t, *victim))
    return eviction{victim->key, why, false};
  return std::nullopt;
}

} // namespace corral
