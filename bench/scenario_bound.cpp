// bound: memory under a put storm into a cache bounded by max_weight (issue: "RSS stays within
// the weight bound plus the documented overhead").
//
// Two threads put 400,000 distinct keys with 1 KiB values (about 400 MiB unbounded) into a cache
// with max_weight 32 MiB. Measured: the largest weight and entry count seen (polled by a third
// thread during the storm), the weight at the end, and the growth of the heap in use (mallinfo2)
// and of RSS over the storm. The documented overhead per entry (docs/config.md, max_weight) is
// what the weight does not count: the entry (168 bytes for a std::string value), the key's and
// value's allocator rounding (a 1 KiB value is a 1,041-byte block), the table's bucket pointer
// and the admission window's copy of new keys. Target: heap growth <= max_weight + entries x 512
// bytes, and the weight never above max_weight + one value per putting thread.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench/json_line.hpp"
#include "bench/memory_probe.hpp"
#include "bench/registry.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t overhead_allowance = 512; // bytes per entry beyond its weight

/// Puts per second of the same storm into `cache` (for the same-run ratio of bounded/unbounded).
template <class Cache>
double storm(Cache& cache, std::size_t threads, std::size_t per_thread, const std::string& value,
             const char* prefix) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> putters;
  for (std::size_t t = 0; t < threads; ++t)
    putters.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i)
        cache.put(prefix + std::to_string(t) + "-" + std::to_string(i), value);
    });
  for (auto& p : putters)
    p.join();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  return static_cast<double>(threads * per_thread) / seconds.count();
}

void run_bound(const options& opt) {
  const std::size_t puts_per_thread = opt.quick ? 50'000 : 200'000;
  const std::size_t threads = 2;
  const std::size_t max_weight = 32u << 20;
  const std::string value(1024, 'v');

  corral::runtime_config rc;
  rc.scheduler_threads = 2;
  rc.loader_threads = 1;
  corral::runtime rt{rc};
  corral::cache_config c;
  c.name = "bounded";
  c.max_weight = max_weight;
  auto cache = rt.make_cache<std::string>(c, [](const std::string& k) { return k; });
  auto weight_now = [&rt] {
    for (const auto& s : rt.metrics())
      if (s.cache == "bounded")
        return s.gauges.weight;
    return std::uint64_t{0};
  };

  trim_heap();
  auto heap_before = heap_in_use_bytes();
  auto rss_before = resident_bytes();
  std::atomic<bool> storming{true};
  std::uint64_t max_weight_seen = 0;
  std::size_t max_entries_seen = 0;
  std::thread watcher{[&] {
    while (storming.load()) {
      max_weight_seen = std::max(max_weight_seen, weight_now());
      max_entries_seen = std::max(max_entries_seen, cache.size());
      std::this_thread::sleep_for(std::chrono::microseconds(200)); // a sampling period
    }
  }};
  auto puts_per_s = storm(cache, threads, puts_per_thread, value, "key-");
  storming = false;
  watcher.join();
  auto heap_growth = static_cast<double>(heap_in_use_bytes()) - static_cast<double>(heap_before);
  auto rss_growth = static_cast<double>(resident_bytes()) - static_cast<double>(rss_before);
  auto entries = cache.size();
  auto allowed = static_cast<double>(max_weight + entries * overhead_allowance);
  auto weight_slack = max_weight + threads * (value.size() + 32);
  json_line{"bound", "corral-max-weight"}
      .field("threads", threads)
      .field("puts", threads * puts_per_thread)
      .field("value_bytes", value.size())
      .field("max_weight", max_weight)
      .field("puts_per_s", puts_per_s)
      .field("entries_at_end", entries)
      .field("max_entries_seen", max_entries_seen)
      .field("weight_at_end", weight_now())
      .field("max_weight_seen", max_weight_seen)
      .field("heap_growth_mib", heap_growth / (1 << 20))
      .field("rss_growth_mib", rss_growth / (1 << 20))
      .field("allowed_mib", allowed / (1 << 20))
      .field("target_heap_within_bound_plus_overhead", heap_growth <= allowed)
      .field("target_weight_within_margin", max_weight_seen <= weight_slack)
      .print();

  // The same storm into an unbounded cache, after the bounded one (so that its memory is not in
  // the figures above): what evicting on the insert path costs a put.
  corral::cache_config u;
  u.name = "unbounded";
  auto unbounded = rt.make_cache<std::string>(u, [](const std::string& k) { return k; });
  auto unbounded_puts_per_s = storm(unbounded, threads, puts_per_thread, value, "key-");
  json_line{"bound", "corral-unbounded"}
      .field("threads", threads)
      .field("puts", threads * puts_per_thread)
      .field("puts_per_s", unbounded_puts_per_s)
      .field("bounded_over_unbounded", puts_per_s / unbounded_puts_per_s)
      .print();
}

const registrar reg{"bound", "memory under a put storm into a max_weight cache", 46, &run_bound};

} // namespace
} // namespace bench
