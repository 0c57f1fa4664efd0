// spike: 1,000 requesters released at once on one cold key whose loader takes 50 ms.
//
// Each requester is a real std::thread calling the blocking get(), all parked on one
// reader-writer lock that the coordinator holds exclusively and releases at once (a single
// futex wake of every reader, no serial hand-off through a mutex). corral must call the loader
// once and answer everybody from that one load; the naive baseline (sharded map, every
// requester that misses loads the key itself) shows what happens without single-flight.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/baselines.hpp"
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t requesters = 1000;
constexpr auto loader_delay = std::chrono::milliseconds(50);
const std::string spike_key = "spike-key-0001";
// Targets of the corral line: the load starts within 2 ms of the release, and the last
// requester is served within 10 ms of the loader's own duration.
constexpr double target_first_load_started_ms = 2;
constexpr double target_all_served_over_loader_ms = 10;

/// The slow loader: sleeps 50 ms, counts its calls and records when they ran.
class slow_loader {
public:
  std::string operator()(const std::string& key) {
    const auto t0 = bench_clock::now();
    if (calls_.fetch_add(1) == 0)
      first_start_ = t0;
    std::this_thread::sleep_for(loader_delay);
    total_ns_.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - t0).count());
    return "value-of-" + key;
  }
  std::uint64_t calls() const { return calls_.load(); }
  /// Mean duration of one loader call.
  double mean_ms() const {
    auto n = calls();
    return n == 0 ? 0.0 : static_cast<double>(total_ns_.load()) / 1e6 / static_cast<double>(n);
  }
  /// Start of the first call (valid once calls() > 0 and that call has returned).
  bench_clock::time_point first_start() const { return first_start_; }

private:
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::int64_t> total_ns_{0};
  bench_clock::time_point first_start_{};
};

struct spike_result {
  std::uint64_t errors = 0;
  bench_clock::time_point released;
  std::vector<double> served_ms; // per requester, from release to its get returning, sorted
};

/// Parks `requesters` threads on a gate, releases them at once, each calls `request()` (true =
/// served a value) once; returns when all have returned.
template <class Request> spike_result run_spike(const Request& request) {
  std::shared_mutex gate;
  std::unique_lock<std::shared_mutex> closed{gate};
  std::atomic<std::size_t> parked{0};
  std::atomic<std::uint64_t> errors{0};
  std::vector<bench_clock::time_point> done(requesters);
  std::vector<std::thread> threads;
  threads.reserve(requesters);
  for (std::size_t i = 0; i < requesters; ++i) {
    threads.emplace_back([&, i] {
      parked.fetch_add(1);
      { std::shared_lock<std::shared_mutex> open{gate}; }
      if (!request())
        errors.fetch_add(1);
      done[i] = bench_clock::now();
    });
  }
  while (parked.load() < requesters)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Let the last arrivals reach the lock before it opens.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  spike_result r;
  r.released = bench_clock::now();
  closed.unlock();
  for (auto& t : threads)
    t.join();
  r.errors = errors.load();
  r.served_ms.reserve(requesters);
  for (auto t : done)
    r.served_ms.push_back(ms_between(r.released, t));
  std::sort(r.served_ms.begin(), r.served_ms.end());
  return r;
}

/// The fields every spike line has.
json_line spike_line(const char* impl, const spike_result& r, const slow_loader& loader) {
  json_line line{"spike", impl};
  line.field("requesters", requesters)
      .field("loads", loader.calls())
      .field("loader_ms", loader.mean_ms())
      .field("first_load_started_ms", ms_between(r.released, loader.first_start()))
      .field("first_served_ms", r.served_ms.front())
      .field("median_served_ms", r.served_ms[r.served_ms.size() / 2])
      .field("all_served_ms", r.served_ms.back())
      .field("errors", r.errors);
  return line;
}

void run_spike_scenario(const options&) {
  // --quick changes nothing here: one spike takes well under a second.
  {
    std::fprintf(stderr, "spike: corral, %zu requesters...\n", requesters);
    corral::runtime_config rc;
    rc.loader_threads = 2;
    corral::runtime rt{rc};
    corral::cache_config cc;
    cc.name = "spike";
    cc.ttl = std::chrono::hours(1);
    slow_loader loader;
    auto cache =
        rt.make_cache<std::string>(cc, [&loader](const std::string& key) { return loader(key); });
    auto r = run_spike([&] {
      auto v = cache.get(spike_key, std::chrono::seconds(30));
      return v.ok() && v.value() == "value-of-" + spike_key;
    });
    auto counters = cache.counters();
    const double first_load_started_ms = ms_between(r.released, loader.first_start());
    const double served_over_loader_ms = r.served_ms.back() - loader.mean_ms();
    spike_line("corral", r, loader)
        .field("counter_loads", counters[static_cast<std::size_t>(corral::counter::loads)])
        .field("counter_misses", counters[static_cast<std::size_t>(corral::counter::misses)])
        .field("counter_hits", counters[static_cast<std::size_t>(corral::counter::hits)])
        .field("target_first_load_started_ms", target_first_load_started_ms)
        .field("target_all_served_over_loader_ms", target_all_served_over_loader_ms)
        .field("met", first_load_started_ms <= target_first_load_started_ms &&
                          served_over_loader_ms <= target_all_served_over_loader_ms)
        .print();
  }
  {
    std::fprintf(stderr, "spike: baseline-sharded-naive, %zu requesters...\n", requesters);
    sharded_map<std::string> map;
    slow_loader loader;
    auto r = run_spike([&] {
      if (auto v = map.get(spike_key))
        return true;
      auto v = loader(spike_key); // every requester that misses loads the key itself
      map.put(spike_key, v);
      return true;
    });
    spike_line("baseline-sharded-naive", r, loader).print();
  }
}

const registrar reg{"spike", "1,000 concurrent gets of one cold key with a 50 ms loader", 20,
                    &run_spike_scenario};

} // namespace
} // namespace bench
