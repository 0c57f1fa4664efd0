// hitratio: corral's eviction policy against exact LRU and Belady's offline optimum, on traces
// generated here: Zipf 0.8 and 0.99 over 1M keys, Zipf 0.99 with a periodic sequential scan,
// and a loop slightly larger than the cache; cache sizes 1% and 10% of the key space.
//
// corral's figure comes from its real code: a runtime entry_table and eviction_policy driven on
// one thread, a hit touching the entry as cache_core::fast_lookup does, a miss publishing a
// value and evicting as cache_core::publish_loaded/after_publish do. Each request is one access
// tick (~17 ms) after the previous, so every hit counts in the entry's frequency; under a real
// clock a key read many times within one tick counts once.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/zipf.hpp"
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/engine/entry_table.hpp>
#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/eviction_policy.hpp>

namespace {

using trace = std::vector<std::uint64_t>;

trace zipf_trace(std::size_t keys, double s, std::size_t requests, std::uint64_t seed) {
  bench::zipf_distribution z{keys, s};
  std::mt19937_64 rng{seed};
  // Ranks are spread over the key ids so that hot keys are not neighbours in any hash.
  std::vector<std::uint64_t> ids(keys);
  for (std::size_t i = 0; i < keys; ++i)
    ids[i] = i;
  std::shuffle(ids.begin(), ids.end(), rng);
  trace t(requests);
  for (auto& r : t)
    r = ids[z(rng)];
  return t;
}

/// Zipf 0.99, with a sequential scan of `scan` never-seen keys after every `period` requests.
trace scan_trace(std::size_t keys, std::size_t requests, std::size_t period, std::size_t scan) {
  auto base = zipf_trace(keys, 0.99, requests, 7);
  trace t;
  t.reserve(requests + requests / period * scan);
  std::uint64_t next_scan_key = keys; // beyond the Zipf keys: each scanned key is new
  for (std::size_t i = 0; i < base.size(); ++i) {
    t.push_back(base[i]);
    if ((i + 1) % period == 0)
      for (std::size_t j = 0; j < scan; ++j)
        t.push_back(next_scan_key++);
  }
  return t;
}

trace loop_trace(std::size_t length, std::size_t requests) {
  trace t(requests);
  for (std::size_t i = 0; i < requests; ++i)
    t[i] = i % length;
  return t;
}

/// The best fixed set in hindsight: the `capacity` keys requested most often in the trace, each
/// missed once (its first request). On Zipf traces (independent requests) this is what a policy
/// that knew every key's popularity in advance could expect, the bound for online policies;
/// Belady's MIN is higher because it also knows the order of the requests.
double perfect_lfu_hit_ratio(const trace& t, std::size_t capacity) {
  std::unordered_map<std::uint64_t, std::uint64_t> counts;
  for (auto k : t)
    ++counts[k];
  std::vector<std::uint64_t> c;
  c.reserve(counts.size());
  for (const auto& kv : counts)
    c.push_back(kv.second);
  auto top = std::min(capacity, c.size());
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(top), c.end(),
                    std::greater<>{});
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < top; ++i)
    hits += c[i] - 1;
  return static_cast<double>(hits) / static_cast<double>(t.size());
}

double lru_hit_ratio(const trace& t, std::size_t capacity) {
  std::list<std::uint64_t> order; // most recent first
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  where.reserve(capacity * 2);
  std::size_t hits = 0;
  for (auto k : t) {
    auto it = where.find(k);
    if (it != where.end()) {
      ++hits;
      order.splice(order.begin(), order, it->second);
      continue;
    }
    order.push_front(k);
    where[k] = order.begin();
    if (order.size() > capacity) {
      where.erase(order.back());
      order.pop_back();
    }
  }
  return static_cast<double>(hits) / static_cast<double>(t.size());
}

/// Belady's MIN: on a miss with a full cache, evict the key used again furthest in the future
/// (the optimum for a cache that must admit every miss).
double belady_hit_ratio(const trace& t, std::size_t capacity) {
  constexpr auto never = UINT64_MAX;
  std::vector<std::uint64_t> next_use(t.size());
  std::unordered_map<std::uint64_t, std::uint64_t> last_seen;
  for (std::size_t i = t.size(); i-- > 0;) {
    auto it = last_seen.find(t[i]);
    next_use[i] = it == last_seen.end() ? never : it->second;
    last_seen[t[i]] = i;
  }
  last_seen.clear();
  std::set<std::pair<std::uint64_t, std::uint64_t>> by_next; // (next use, key)
  std::unordered_map<std::uint64_t, std::uint64_t> resident; // key -> next use
  std::size_t hits = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto k = t[i];
    auto it = resident.find(k);
    if (it != resident.end()) {
      ++hits;
      by_next.erase({it->second, k});
      it->second = next_use[i];
      by_next.insert({next_use[i], k});
      continue;
    }
    if (resident.size() >= capacity) {
      auto victim = std::prev(by_next.end());
      if (victim->first < next_use[i]) // the new key is needed later than any resident: skip it
        continue;
      resident.erase(victim->second);
      by_next.erase(victim);
    }
    resident[k] = next_use[i];
    by_next.insert({next_use[i], k});
  }
  return static_cast<double>(hits) / static_cast<double>(t.size());
}

/// corral: the runtime's entry_table and eviction_policy, as cache_core drives them.
struct corral_result {
  double hit_ratio;
  std::size_t max_size;
  std::uint64_t rejections;
};

corral_result corral_hit_ratio(const trace& t, std::size_t capacity) {
  corral::entry_table table;
  corral::eviction_policy policy{capacity, 0};
  const corral::eviction_policy::busy_fn not_busy = [](const std::string&, std::size_t) {
    return false;
  };
  corral::time_point now{};
  std::size_t hits = 0, max_size = 0;
  std::uint64_t rejections = 0;
  std::string key;
  for (auto k : t) {
    now += std::chrono::milliseconds(17); // one access tick per request (see the top)
    key = "k";
    key += std::to_string(k);
    auto hash = corral::entry_table::hash_key(key);
    {
      corral::detail::epoch_guard guard; // fast_lookup's caller holds one
      if (const corral::entry* e = table.find(key, hash)) {
        corral::entry_table::touch(*e, corral::entry_table::tick_of(now));
        ++hits;
        continue;
      }
    }
    // cache_core::publish_loaded: weigh and stamp, publish, then after_publish.
    std::unique_ptr<corral::entry> e = std::make_unique<corral::value_entry<std::string>>("v");
    e->weight = key.size() + 1;
    policy.stamp(*e);
    bool inserted = false;
    table.publish(key, e, table.next_version(), now, &inserted);
    if (!inserted)
      continue;
    policy.record_insert(table, key, hash);
    policy.enforce(table, not_busy, now, 64, [&](const corral::eviction_policy::eviction& ev) {
      rejections += ev.rejected ? 1 : 0;
    });
    max_size = std::max(max_size, table.size());
  }
  return {static_cast<double>(hits) / static_cast<double>(t.size()), max_size, rejections};
}

void report(const char* name, bool zipf_target, const trace& t, std::size_t keys,
            std::size_t capacity) {
  auto started = std::chrono::steady_clock::now();
  auto corral = corral_hit_ratio(t, capacity);
  auto corral_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  auto lru = lru_hit_ratio(t, capacity);
  auto opt = belady_hit_ratio(t, capacity);
  auto lfu = perfect_lfu_hit_ratio(t, capacity);
  bench::json_line line{"hitratio", name};
  line.field("keys", keys)
      .field("cache_size", capacity)
      .field("requests", t.size())
      .field("corral", corral.hit_ratio)
      .field("lru", lru)
      .field("optimum", opt)
      .field("perfect_lfu", lfu)
      .field("points_below_perfect_lfu", (lfu - corral.hit_ratio) * 100)
      .field("corral_max_entries_seen", corral.max_size)
      .field("admission_rejections", corral.rejections)
      .field("corral_seconds", corral_s.count())
      .field("target_at_least_lru", corral.hit_ratio >= lru);
  if (zipf_target)
    line.field("target_within_5_points_of_optimum", corral.hit_ratio >= opt - 0.05);
  else
    line.field("target_lru_plus_20_points", corral.hit_ratio >= lru + 0.20);
  line.print();
}

void run_hitratio(const bench::options& opt) {
  const std::size_t keys = opt.quick ? 100000 : 1000000;
  const std::size_t requests = opt.quick ? 300000 : 2000000;
  for (std::size_t percent : {1, 10}) {
    auto capacity = keys * percent / 100;
    report("zipf-0.8", true, zipf_trace(keys, 0.8, requests, 1), keys, capacity);
    report("zipf-0.99", true, zipf_trace(keys, 0.99, requests, 2), keys, capacity);
    // Eight sequential scans of twice the cache's size, one after every eighth of the Zipf trace.
    report("zipf-0.99+scan", false, scan_trace(keys, requests, requests / 8, capacity * 2), keys,
           capacity);
    auto loop = capacity + capacity / 10; // 10% larger than the cache: LRU hits nothing
    report("loop", false, loop_trace(loop, std::max(requests, loop * 10)), loop, capacity);
  }
}

const bench::registrar reg{"hitratio",
                           "hit ratio of corral's eviction policy vs exact LRU and Belady's "
                           "optimum on Zipf, scan and loop traces",
                           95, &run_hitratio};

} // namespace
