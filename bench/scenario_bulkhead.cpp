// bulkhead: cache A's loaders hang; does cache B notice?
//
// One runtime with loader_threads 4 (the case in issue 15). Cache A's loader blocks on a gate
// until the phase ends (load_timeout 2 s: its waiters give up, its loads are abandoned but keep
// running); 16 gets of distinct keys are started on A, so its bulkhead (4, the default) is full
// and the rest wait in A's queue. Cache B's loader answers at once. One requester runs the same
// workload on B with and without A hung, alternating over several rounds in the same run (the
// order flips every round):
// every other get misses (a new key, loaded on the pool), the others hit. Reported per phase:
// B's p50/p99 get latency (all gets, and misses alone), errors, and the process's threads.
// Target: B's p99 with A hung within 10% of B alone.
//
// A second line repeats the hung phase on a pool that may not grow (max_loader_threads =
// loader_threads): the bulkhead alone does not help there, B's misses wait behind A's hung
// loads and fail at their deadline. That is why the pool grows (see docs/performance.md).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include "examples/start_gate.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t loader_threads = 4;
constexpr std::size_t hung_gets = 16;
constexpr std::size_t hot_keys = 100;
constexpr double target_p99_ratio = 1.10;

using gate = corral::examples::start_gate;

/// Threads of this process now (entries of /proc/self/task).
std::size_t process_threads() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

/// Cache A: every load blocks until the gate of its phase opens. `release` is replaced per
/// phase while a straggling load of the last phase may read it: atomic_load/atomic_store.
struct hung_cache {
  std::shared_ptr<gate> release = std::make_shared<gate>();
  std::atomic<std::size_t> started{0};
};

struct latencies {
  std::vector<std::uint64_t> all_ns;
  std::vector<std::uint64_t> miss_ns;
  std::uint64_t errors = 0;
  std::size_t peak_threads = 0;

  static double quantile_us(std::vector<std::uint64_t>& v, double q) {
    if (v.empty())
      return 0;
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    return static_cast<double>(v[i]) / 1e3;
  }
};

/// `ops` gets on B: even ones miss (a key never asked before), odd ones hit a warm key.
void run_b(const corral::cache<std::string>& b, std::size_t ops, std::size_t& next_key,
           corral::duration timeout, latencies& out) {
  for (std::size_t i = 0; i < ops; ++i) {
    const bool miss = i % 2 == 0;
    std::string key = miss ? "m" + std::to_string(next_key++) : "h" + std::to_string(i % hot_keys);
    const auto t0 = bench_clock::now();
    auto r = b.get(key, timeout);
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - t0).count());
    if (!r.ok())
      ++out.errors;
    out.all_ns.push_back(ns);
    if (miss)
      out.miss_ns.push_back(ns);
  }
  out.peak_threads = std::max(out.peak_threads, process_threads());
}

/// Starts `hung_gets` gets of new keys on A and waits until A's bulkhead is full.
std::vector<std::future<void>> hang_a(const corral::cache<std::string>& a, hung_cache& state,
                                      std::size_t round, std::size_t bulkhead) {
  std::atomic_store(&state.release, std::make_shared<gate>());
  state.started = 0;
  std::vector<std::future<void>> out;
  for (std::size_t i = 0; i < hung_gets; ++i)
    out.push_back(std::async(
        std::launch::async, [&a, key = "a" + std::to_string(round) + "-" + std::to_string(i)] {
          (void)a.get(key); // answered with a timeout at load_timeout (2 s) or by the value
        }));
  while (state.started.load() < bulkhead)
    std::this_thread::yield();
  return out;
}

corral::runtime_config runtime_for(std::size_t max_threads) {
  corral::runtime_config rc;
  rc.loader_threads = loader_threads;
  rc.max_loader_threads = max_threads;
  return rc;
}

corral::cache_config cache_named(const char* name) {
  corral::cache_config c;
  c.name = name;
  c.ttl = std::chrono::hours(1);
  return c;
}

void run_bulkhead_scenario(const options& opt) {
  const std::size_t rounds = opt.quick ? 2 : 5;
  const std::size_t ops = opt.quick ? 2000 : 20000; // per round and phase
  std::fprintf(stderr, "bulkhead: %zu rounds of %zu gets on B, alone and with A hung...\n", rounds,
               ops);
  corral::runtime rt{runtime_for(0)};
  hung_cache a_state;
  auto a_cfg = cache_named("a-hung");
  a_cfg.load_timeout = std::chrono::seconds(2);
  auto a = rt.make_cache<std::string>(a_cfg, [&a_state](const std::string& key) {
    auto release = std::atomic_load(&a_state.release); // this phase's gate
    ++a_state.started;
    release->wait();
    return "late-" + key;
  });
  auto b = rt.make_cache<std::string>(cache_named("b-fast"),
                                      [](const std::string& key) { return "v-" + key; });
  std::size_t next_key = 0;
  for (std::size_t i = 0; i < hot_keys; ++i) // the warm keys the odd gets hit
    (void)b.get("h" + std::to_string(i));
  {
    latencies warmup; // the first key actors, CAF's first spawns: not measured
    run_b(b, ops / 4, next_key, std::chrono::seconds(5), warmup);
  }
  latencies alone;
  latencies hung;
  corral::metrics_snapshot a_hung{};
  const std::size_t threads_idle = process_threads();
  for (std::size_t round = 0; round < rounds; ++round) {
    // Odd rounds measure the hung phase first: neither phase always follows the other.
    const bool alone_first = round % 2 == 0;
    if (alone_first)
      run_b(b, ops, next_key, std::chrono::seconds(5), alone);
    auto pending = hang_a(a, a_state, round, loader_threads);
    run_b(b, ops, next_key, std::chrono::seconds(5), hung);
    a_hung = a.metrics();
    std::atomic_load(&a_state.release)->open();
    for (auto& f : pending)
      f.get();
    if (!alone_first)
      run_b(b, ops, next_key, std::chrono::seconds(5), alone);
  }
  const double alone_p99 = latencies::quantile_us(alone.all_ns, 0.99);
  const double hung_p99 = latencies::quantile_us(hung.all_ns, 0.99);
  const double ratio = alone_p99 > 0 ? hung_p99 / alone_p99 : 0;
  json_line{"bulkhead", "corral"}
      .field("loader_threads", loader_threads)
      .field("a_hung_gets", hung_gets)
      .field("rounds", rounds)
      .field("b_gets_per_phase", rounds * ops)
      .field("b_alone_p50_us", latencies::quantile_us(alone.all_ns, 0.5))
      .field("b_alone_p99_us", alone_p99)
      .field("b_alone_miss_p99_us", latencies::quantile_us(alone.miss_ns, 0.99))
      .field("b_hung_p50_us", latencies::quantile_us(hung.all_ns, 0.5))
      .field("b_hung_p99_us", hung_p99)
      .field("b_hung_miss_p99_us", latencies::quantile_us(hung.miss_ns, 0.99))
      .field("b_alone_errors", alone.errors)
      .field("b_hung_errors", hung.errors)
      .field("threads_idle", threads_idle)
      .field("threads_peak_alone", alone.peak_threads)
      .field("threads_peak_hung", hung.peak_threads)
      .field("a_loads_queued", a_hung.gauges.loads_queued)
      .field("a_abandoned_running", a_hung.gauges.abandoned_running)
      .field("a_abandoned_loads", a_hung.total.abandoned_loads)
      .field("p99_ratio", ratio)
      .field("target_p99_ratio", target_p99_ratio)
      .field("met", ratio <= target_p99_ratio && hung.errors == 0)
      .print();

  // The same hung phase on a pool that may not grow: what the bulkhead alone gives.
  std::fprintf(stderr, "bulkhead: a fixed pool of %zu threads with A hung...\n", loader_threads);
  corral::runtime fixed{runtime_for(loader_threads)};
  hung_cache f_state;
  auto fa = fixed.make_cache<std::string>(a_cfg, [&f_state](const std::string& key) {
    auto release = std::atomic_load(&f_state.release);
    ++f_state.started;
    release->wait();
    return "late-" + key;
  });
  auto fb = fixed.make_cache<std::string>(cache_named("b-fast"),
                                          [](const std::string& key) { return "v-" + key; });
  const std::size_t fixed_ops = 20; // each miss waits for its whole deadline
  const auto deadline = std::chrono::milliseconds(100);
  auto pending = hang_a(fa, f_state, 0, loader_threads);
  latencies starved;
  run_b(fb, fixed_ops, next_key, deadline, starved);
  std::atomic_load(&f_state.release)->open();
  for (auto& f : pending)
    f.get();
  json_line{"bulkhead", "corral-fixed-pool"}
      .field("loader_threads", loader_threads)
      .field("max_loader_threads", loader_threads)
      .field("b_gets", fixed_ops)
      .field("b_deadline_ms", static_cast<std::int64_t>(deadline.count()))
      .field("b_errors", starved.errors)
      .field("b_miss_p50_us", latencies::quantile_us(starved.miss_ns, 0.5))
      .print();
}

const registrar reg{"bulkhead", "cache B's get latency while cache A's loaders hang", 75,
                    &run_bulkhead_scenario};

} // namespace
} // namespace bench
