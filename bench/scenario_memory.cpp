// memory: what a key costs in memory, and whether idle key actors go away.
//
// bytes_per_key: 1,000,000 keys ("key-0000000", 11 characters, kept in std::string's small
// buffer) with 16-byte values (std::array<char, 16>) are put into an empty container; the
// resident set size (/proc/self/statm) is read before and after, with malloc_trim() first so
// that memory freed by earlier scenarios does not hide the growth. Keys are formatted into a
// stack buffer, so the benchmark holds no copy of them.
//
//   bytes_per_key    = (RSS after - RSS before) / keys
//   overhead_per_key = bytes_per_key - sizeof(std::string) - sizeof(value)
//                    = bytes_per_key - 32 - 16 on libstdc++/x86-64
// i.e. the payload subtracted is one std::string object (whose 15-byte small buffer holds the
// 11-character key, so no separate key allocation is payload) plus the 16 value bytes. The
// remainder is the container's own cost: nodes, buckets, malloc headers, entry headers.
// heap_bytes_per_key is the same delta measured as malloc's bytes in use (mallinfo2), which is
// insensitive to pages malloc keeps or returns.
//
// resident_actor (a corral line of its own): heap bytes per key after 100,000 keys were loaded
// through get() with idle_timeout 1 h (every key's actor stays resident), minus the same after
// 100,000 puts (no actor); the difference is the cost of one resident key actor.
//
// idle_actors (corral line only): a cache with idle_timeout 100 ms and prune_interval 50 ms
// gets 1,000 distinct keys through its loader, which makes 1,000 key actors; the status is then
// polled every 10 ms for up to 5 s until resident_actors reaches 0. peak_actors is the highest
// resident_actors seen, idle_actors what is left at the end (target 0).
#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/baselines.hpp"
#include "bench/corral_status.hpp"
#include "bench/json_line.hpp"
#include "bench/memory_probe.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include <corral/runtime/caf_interop.hpp>

namespace bench {
namespace {

using value16 = std::array<char, 16>;

constexpr std::size_t idle_keys = 1000;

value16 value_for(std::size_t i) {
  value16 v{};
  std::snprintf(v.data(), v.size(), "v%014zu", i);
  return v;
}

/// Formats key i into `buf` ("key-0000000") and returns a view of it.
std::string_view key_into(char (&buf)[32], std::size_t i) {
  int n = std::snprintf(buf, sizeof buf, "key-%07zu", i);
  return std::string_view{buf, static_cast<std::size_t>(n)};
}

struct growth {
  std::size_t keys = 0;
  std::size_t rss_before = 0, rss_after = 0;
  std::size_t heap_before = 0, heap_after = 0;
  double seconds = 0;
};

/// Measures the memory growth of `put(i)` for i in [0, keys).
template <class Put> growth measure_growth(std::size_t keys, const Put& put) {
  growth g;
  g.keys = keys;
  trim_heap();
  g.rss_before = resident_bytes();
  g.heap_before = heap_in_use_bytes();
  auto t0 = bench_clock::now();
  for (std::size_t i = 0; i < keys; ++i)
    put(i);
  g.seconds = seconds_between(t0, bench_clock::now());
  g.rss_after = resident_bytes();
  g.heap_after = heap_in_use_bytes();
  return g;
}

json_line growth_line(const char* impl, const growth& g, std::size_t size) {
  const auto keys = static_cast<double>(g.keys);
  const double bytes_per_key =
      (static_cast<double>(g.rss_after) - static_cast<double>(g.rss_before)) / keys;
  const double heap_per_key =
      (static_cast<double>(g.heap_after) - static_cast<double>(g.heap_before)) / keys;
  const double payload = static_cast<double>(sizeof(std::string) + sizeof(value16));
  json_line line{"memory", impl};
  line.field("keys", g.keys)
      .field("size", size)
      .field("bytes_per_key", bytes_per_key)
      .field("overhead_per_key", bytes_per_key - payload)
      .field("heap_bytes_per_key", heap_per_key)
      .field("heap_overhead_per_key", heap_per_key - payload)
      .field("payload_subtracted", payload)
      .field("put_ns_per_key", g.seconds * 1e9 / keys);
  return line;
}

struct idle_result {
  std::uint64_t peak_actors = 0;
  std::uint64_t idle_actors = 0;
  double idle_ms = -1; // from the last get's answer to resident_actors == 0; -1 = not reached
  std::uint64_t entries = 0;
  std::uint64_t loads = 0;
  std::uint64_t passivations = 0;
  std::uint64_t get_errors = 0;
  std::uint64_t status_errors = 0;
};

idle_result measure_idle_actors() {
  corral::runtime rt{};
  corral::cache_config cc;
  cc.name = "idle";
  cc.idle_timeout = std::chrono::milliseconds(100);
  cc.prune_interval = std::chrono::milliseconds(50);
  auto cache =
      rt.make_cache<value16>(cc, [](const std::string& key) { return value_for(key.size()); });
  idle_result r;
  // All gets in flight at once, so that every key has its actor at the same time.
  std::vector<std::future<corral::result<value16>>> pending;
  pending.reserve(idle_keys);
  char buf[32];
  for (std::size_t i = 0; i < idle_keys; ++i)
    pending.push_back(cache.get_async(key_into(buf, i)));
  for (auto& f : pending)
    if (!f.get().ok())
      ++r.get_errors;
  const auto answered = bench_clock::now();
  const auto give_up = answered + std::chrono::seconds(5);
  for (;;) {
    auto s = query_status(rt, corral::actor_of(cache));
    const auto now = bench_clock::now();
    if (!s) {
      ++r.status_errors;
    } else {
      r.peak_actors = std::max(r.peak_actors, s->resident_actors);
      r.idle_actors = s->resident_actors;
      r.entries = s->entries;
      r.passivations = s->passivations;
      if (s->resident_actors == 0) {
        r.idle_ms = ms_between(answered, now);
        break;
      }
    }
    if (now >= give_up)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.loads = cache.counters()[static_cast<std::size_t>(corral::counter::loads)];
  return r;
}

/// Heap bytes per key once `keys` keys are in a fresh cache: loaded through get() (each key's
/// actor stays resident: idle_timeout 1 h) or put (no actor at all). The difference is what one
/// resident key actor costs, its registry slot included.
double heap_per_key(std::size_t keys, bool through_actors) {
  corral::runtime rt{};
  corral::cache_config cc;
  cc.name = "resident";
  cc.idle_timeout = std::chrono::hours(1);
  auto cache =
      rt.make_cache<value16>(cc, [](const std::string& key) { return value_for(key.size()); });
  char buf[32];
  malloc_trim(0);
  const auto before = heap_in_use_bytes();
  for (std::size_t i = 0; i < keys; ++i) {
    if (through_actors)
      (void)cache.get(key_into(buf, i));
    else
      cache.put(key_into(buf, i), value_for(i));
  }
  const auto after = heap_in_use_bytes();
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(keys);
}

void run_memory(const options& opt) {
  const std::size_t keys = opt.quick ? 100'000 : 1'000'000;
  {
    std::fprintf(stderr, "memory: corral, %zu keys...\n", keys);
    corral::runtime rt{};
    corral::cache_config cc;
    cc.name = "memory";
    auto cache = rt.make_cache<value16>(cc);
    char buf[32];
    auto g =
        measure_growth(keys, [&](std::size_t i) { cache.put(key_into(buf, i), value_for(i)); });
    auto line = growth_line("corral", g, cache.size());
    std::fprintf(stderr, "memory: corral idle actors...\n");
    auto idle = measure_idle_actors();
    line.field("idle_actors", idle.idle_actors)
        .field("peak_actors", idle.peak_actors)
        .field("idle_keys", idle_keys)
        .field("idle_to_zero_ms", idle.idle_ms)
        .field("idle_entries_after", idle.entries)
        .field("idle_loads", idle.loads)
        .field("idle_passivations", idle.passivations)
        .field("idle_errors", idle.get_errors + idle.status_errors)
        .print();
  }
  {
    const std::size_t actor_keys = opt.quick ? 20'000 : 100'000;
    std::fprintf(stderr, "memory: corral resident key actors, %zu keys...\n", actor_keys);
    const auto with_actor = heap_per_key(actor_keys, true);
    const auto put_only = heap_per_key(actor_keys, false);
    json_line line{"memory", "corral"};
    line.field("phase", "resident_actor")
        .field("keys", actor_keys)
        .field("heap_bytes_per_key_loaded", with_actor)
        .field("heap_bytes_per_key_put", put_only)
        .field("heap_bytes_per_resident_actor", with_actor - put_only)
        .print();
  }
  {
    std::fprintf(stderr, "memory: baseline-sharded, %zu keys...\n", keys);
    sharded_map<value16> map;
    char buf[32];
    auto g = measure_growth(
        keys, [&](std::size_t i) { map.put(std::string{key_into(buf, i)}, value_for(i)); });
    growth_line("baseline-sharded", g, map.size()).print();
  }
}

const registrar reg{"memory", "bytes per key at 1M keys, and passivation of idle key actors", 30,
                    &run_memory};

} // namespace
} // namespace bench
