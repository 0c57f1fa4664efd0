// expiry: proactive expiry (runtime/engine/expiry_sweep.hpp), in two parts.
//
// reclaim: 200,000 puts into a real runtime's cache with ttl 100 ms and no max_entries (the
// issue's one-time-keys case, with prune_interval 100 ms so that a pass comes every 100 ms);
// the size is polled every millisecond after the puts until it reaches 0. passes_after_expiry is
// the time from the ttl to an empty cache in housekeeping periods. Target: empty within 3 passes
// of the expiry (the sweep goes on past its minimum stretch while expired entries are dense).
//
// cost: one sweep pass over a table of live entries (ttl 1 h, nothing to reclaim) of 10k, 100k
// and 1M keys, on a cache core built without actors and driven by the sweep itself: entries
// examined per pass (a tenth of the table by design, so a whole walk takes ten passes), and the
// time per pass and per examined entry (median of 11 passes). Target: the time per examined entry
// stays within 3x from 10k to 1M keys (per-pass work is linear in the table, not more).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include <corral/runtime/engine/cache_core.hpp>
#include <corral/runtime/engine/expiry_sweep.hpp>
#include <corral/runtime/engine/value_ops.hpp>
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

void run_reclaim(std::size_t keys) {
  corral::runtime_config rc;
  rc.scheduler_threads = 2;
  rc.loader_threads = 1;
  corral::runtime rt{rc};
  corral::cache_config c;
  c.name = "sessions";
  c.ttl = milliseconds(100);
  c.prune_interval = milliseconds(100);
  auto cache = rt.make_cache<std::string>(c, [](const std::string& k) { return k; });
  auto start = steady_clock::now();
  for (std::size_t i = 0; i < keys; ++i)
    cache.put("session-" + std::to_string(i), "v");
  auto last_expiry = steady_clock::now() + c.ttl; // the last put's
  auto size_after_puts = cache.size();
  while (cache.size() > 0 && steady_clock::now() - start < std::chrono::seconds(30))
    std::this_thread::sleep_for(milliseconds(1)); // polling: a benchmark, not a test
  auto empty_at = steady_clock::now();
  auto after = std::max(nanoseconds::zero(), duration_cast<nanoseconds>(empty_at - last_expiry));
  double passes = static_cast<double>(after.count()) /
                  static_cast<double>(nanoseconds(c.prune_interval).count());
  json_line{"expiry", "corral-reclaim"}
      .field("keys", keys)
      .field("ttl_ms", 100)
      .field("prune_interval_ms", 100)
      .field("size_after_puts", size_after_puts)
      .field("size_at_end", cache.size())
      .field("ms_after_last_expiry", static_cast<double>(after.count()) / 1e6)
      .field("passes_after_expiry", passes)
      .field("target_within_3_passes", cache.size() == 0 && passes <= 3.0)
      .print();
}

double run_cost(std::size_t keys) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  corral::manual_executor loads;
  corral::cache_config c;
  c.name = "cost";
  c.ttl = std::chrono::hours(1);
  auto core = std::make_shared<corral::cache_core>(c, corral::value_ops_for<std::string>(),
                                                   corral::erased_loader{}, loads, sys.clock());
  for (std::size_t i = 0; i < keys; ++i) {
    auto key = "key-" + std::to_string(i);
    std::unique_ptr<corral::entry> e{new corral::value_entry<std::string>("v")};
    core->put_entry(key, std::move(e));
  }
  corral::expiry_sweep sweep;
  std::vector<double> pass_ns;
  std::size_t examined = 0;
  for (int i = 0; i < 11; ++i) {
    auto t0 = steady_clock::now();
    auto r = sweep.run(*core, std::chrono::seconds(1));
    pass_ns.push_back(
        static_cast<double>(duration_cast<nanoseconds>(steady_clock::now() - t0).count()));
    examined = r.examined;
  }
  std::sort(pass_ns.begin(), pass_ns.end());
  auto median = pass_ns[pass_ns.size() / 2];
  auto per_entry = median / static_cast<double>(std::max<std::size_t>(examined, 1));
  json_line{"expiry", "corral-sweep-pass"}
      .field("keys", keys)
      .field("examined_per_pass", examined)
      .field("us_per_pass", median / 1e3)
      .field("ns_per_examined", per_entry)
      .print();
  return per_entry;
}

void run_expiry(const options& opt) {
  run_reclaim(opt.quick ? 20'000 : 200'000);
  std::vector<std::size_t> sizes{10'000, 100'000};
  if (!opt.quick)
    sizes.push_back(1'000'000);
  std::vector<double> per_entry;
  for (auto n : sizes)
    per_entry.push_back(run_cost(n));
  auto growth = per_entry.back() / per_entry.front();
  json_line{"expiry", "corral-sweep-scale"}
      .field("keys_from", sizes.front())
      .field("keys_to", sizes.back())
      .field("ns_per_examined_ratio", growth)
      .field("target_within_3x", growth <= 3.0)
      .print();
}

const registrar reg{
    "expiry",
    "proactive expiry: 200,000 expired puts reclaimed, and a pass's cost from 10k to 1M keys", 45,
    &run_expiry};

} // namespace
} // namespace bench
