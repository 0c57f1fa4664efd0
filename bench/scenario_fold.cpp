// fold: what one metrics cycle costs the metrics actor, at 100,000 keys.
//
// Once per cycle the metrics actor calls `core->windows.fold(core->metrics)` for every cache:
// it sums every per-thread counter line (max_thread_slots + 1 of them, whether a thread ever
// used one or not) and copies the four latency histograms, then closes the window. This
// scenario builds one cache_core the way the runtime does (real actor system, real loader
// pool, no metrics actor, so that nothing else folds), puts 100,000 keys, and makes the
// counters and histograms non-trivial:
//   - misses: 2,000 absent keys are requested with get_async (every 10th loader call throws),
//     so the load / source histograms and the miss / load / error counters have entries;
//   - hits: 1,000,000 gets over the present keys from 2 threads.
// Then it times 200 folds one by one (fold_us = median, fold_us_max = slowest, fold_us_first =
// the first, whose data is least likely to be in the CPU caches), and 200 snapshots
// (core->metrics_now(), what cache<V>::metrics() and the exporters call).
//
// threads_with_counters is the number of distinct thread slots seen writing this cache's
// counters: the putting thread, the getting threads, the loader threads (seen from inside the
// loader) and the CAF workers that answered misses (seen from the get_async callbacks). It is a
// lower bound: a CAF worker that only started loads is not seen. The fold's cost does not depend
// on it (counter_lines_summed lines are always read).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include <corral/actors/cache_supervisor.hpp>
#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/cache.hpp>
#include <corral/runtime/engine/executor.hpp>
#include <corral/runtime/engine/thread_slot.hpp>
#include <corral/runtime/engine/value_ops.hpp>
#include <corral/runtime/loader.hpp>

namespace bench {
namespace {

constexpr std::size_t key_count = 100'000;
constexpr std::size_t get_threads = 2;
constexpr std::size_t loader_threads = 2;

std::string key_name(const char* prefix, std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%07zu", prefix, i);
  return buf;
}

/// Distinct thread slots seen writing the cache's counters.
class slot_set {
public:
  void note() {
    auto slot = corral::detail::current_thread_slot();
    std::lock_guard<std::mutex> guard{mtx_};
    seen_.insert(slot.index);
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return seen_.size();
  }

private:
  mutable std::mutex mtx_;
  std::set<std::size_t> seen_;
};

/// The loader: spins for 0..15 us (so that load times spread over several histogram buckets);
/// every 10th call throws (load and source errors).
std::string spin_loader(const std::string& key, slot_set& slots, std::atomic<std::uint64_t>& n) {
  slots.note();
  const auto i = n.fetch_add(1);
  const auto until = bench_clock::now() + std::chrono::microseconds(i % 16);
  while (bench_clock::now() < until) {
  }
  if (i % 10 == 9)
    throw std::runtime_error("fold: scripted loader failure for " + key);
  return "loaded:" + key;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// One cache on a real actor system, built as corral::runtime does but without a metrics actor.
/// The destructor stops it as runtime::shutdown() does.
struct standalone_cache {
  explicit standalone_cache(const corral::cache_config& cc, corral::erased_loader loader)
      : sys(configure(caf_cfg)), pool(loader_threads) {
    core = std::make_shared<corral::cache_core>(cc, corral::value_ops_for<std::string>(),
                                                std::move(loader), pool, sys.clock(), 6,
                                                std::chrono::seconds(10));
    corral::spawn_cache_supervisor(sys, core);
    handle = corral::cache<std::string>{core};
  }

  ~standalone_cache() {
    core->closing = true;
    {
      caf::scoped_actor self{sys};
      self->monitor(core->supervisor);
      self->send(core->supervisor, corral::shutdown_atom::value);
      self->receive([](caf::down_msg&) {});
    }
    pool.stop(std::chrono::seconds(1));
    core->close_sends();
  }

  standalone_cache(const standalone_cache&) = delete;
  standalone_cache& operator=(const standalone_cache&) = delete;

  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    cfg.set("logger.console", caf::atom("none"));
    corral::register_message_types(cfg);
    return cfg;
  }

  caf::actor_system_config caf_cfg;
  caf::actor_system sys;
  corral::thread_pool pool;
  corral::cache_core_ptr core;
  corral::cache<std::string> handle;
};

/// Requests `n` absent keys at once with get_async and waits for every answer.
/// Returns how many were answered with an error.
std::uint64_t run_misses(const corral::cache<std::string>& c, std::size_t n, slot_set& slots) {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t answered = 0;
  std::uint64_t errors = 0;
  for (std::size_t i = 0; i < n; ++i) {
    c.get_async(key_name("miss", i), [&](corral::result<std::string> r) {
      slots.note(); // the CAF worker that counted the miss (or error) and delivered it
      std::lock_guard<std::mutex> guard{mtx};
      if (!r.ok())
        ++errors;
      ++answered;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock{mtx};
  if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return answered == n; }))
    throw std::runtime_error("fold: misses not answered within 60 s");
  return errors;
}

/// `total` gets of present keys from get_threads threads. Returns the gets that failed.
std::uint64_t run_hits(const corral::cache<std::string>& c, const std::vector<std::string>& keys,
                       std::uint64_t total, slot_set& slots) {
  std::atomic<std::uint64_t> failed{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < get_threads; ++t) {
    threads.emplace_back([&, t] {
      slots.note();
      std::uint64_t bad = 0;
      const std::uint64_t per = total / get_threads;
      for (std::uint64_t i = 0; i < per; ++i) {
        // A stride coprime with key_count visits every key; each thread starts elsewhere.
        const auto k = (t * (key_count / get_threads) + i * 48'271) % key_count;
        if (!c.get(keys[k]).ok())
          ++bad;
      }
      failed.fetch_add(bad);
    });
  }
  for (auto& th : threads)
    th.join();
  return failed.load();
}

void run_fold(const options& opt) {
  const std::size_t misses = opt.quick ? 500 : 2'000;
  const std::uint64_t gets = opt.quick ? 200'000 : 1'000'000;
  const std::size_t folds = opt.quick ? 50 : 200;

  slot_set slots;
  std::atomic<std::uint64_t> loader_calls{0};
  corral::cache_config cc;
  cc.name = "fold";
  cc.ttl = std::chrono::hours(1);
  standalone_cache sc{cc, corral::wrap_loader<std::string>([&](const std::string& key) {
                        return spin_loader(key, slots, loader_calls);
                      })};
  const auto& c = sc.handle;
  auto& core = *sc.core;

  std::fprintf(stderr, "fold: putting %zu keys...\n", key_count);
  std::vector<std::string> keys;
  keys.reserve(key_count);
  for (std::size_t i = 0; i < key_count; ++i) {
    keys.push_back(key_name("key", i));
    if (!c.put(keys.back(), "val-" + keys.back()))
      throw std::runtime_error("fold: put refused");
  }
  slots.note(); // this thread counted the puts

  // Misses first: the CAF workers and loader threads take their thread slots before the
  // getting threads exist, so no slot seen here is one recycled from an exited thread.
  std::fprintf(stderr, "fold: %zu misses, %llu hits...\n", misses,
               static_cast<unsigned long long>(gets));
  const auto miss_errors = run_misses(c, misses, slots);
  const auto failed_gets = run_hits(c, keys, gets, slots);
  if (failed_gets != 0)
    std::fprintf(stderr, "fold: %llu gets of present keys failed\n",
                 static_cast<unsigned long long>(failed_gets));

  std::fprintf(stderr, "fold: %zu folds, %zu snapshots...\n", folds, folds);
  std::vector<double> fold_us;
  fold_us.reserve(folds);
  for (std::size_t i = 0; i < folds; ++i) {
    const auto t0 = bench_clock::now();
    core.windows.fold(core.metrics);
    const auto t1 = bench_clock::now();
    fold_us.push_back(ms_between(t0, t1) * 1e3);
  }
  std::vector<double> snapshot_us;
  snapshot_us.reserve(folds);
  corral::metrics_snapshot snap;
  for (std::size_t i = 0; i < folds; ++i) {
    const auto t0 = bench_clock::now();
    snap = core.metrics_now();
    const auto t1 = bench_clock::now();
    snapshot_us.push_back(ms_between(t0, t1) * 1e3);
  }

  json_line{"fold", "corral"}
      .field("keys", key_count)
      .field("fold_us", median(fold_us))
      .field("fold_us_max", *std::max_element(fold_us.begin(), fold_us.end()))
      .field("fold_us_first", fold_us.front())
      .field("folds", folds)
      .field("snapshot_us", median(snapshot_us))
      .field("snapshot_us_max", *std::max_element(snapshot_us.begin(), snapshot_us.end()))
      .field("threads_with_counters", slots.size())
      .field("counter_lines_summed", corral::detail::max_thread_slots + 1)
      .field("entries", snap.gauges.entries)
      .field("requests_total", snap.total.requests)
      .field("hits_total", snap.total.hits)
      .field("misses_total", snap.total.misses)
      .field("errors_total", snap.total.errors)
      .field("failed_gets", failed_gets)
      .field("miss_errors", miss_errors)
      .field("loads_total", snap.total.loads)
      .field("load_time_count", snap.total.load_time.count)
      .field("load_time_p99_ns", snap.total.load_time.p99_ns)
      .field("completed_windows", snap.completed_windows)
      .print();
}

const registrar reg{"fold", "cost of one metrics-cycle fold and of a snapshot at 100,000 keys", 40,
                    &run_fold};

} // namespace
} // namespace bench
