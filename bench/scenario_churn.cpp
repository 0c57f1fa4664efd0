// churn: a working set that keeps expiring. 10,000 keys, a loader that takes 1 ms (a sleep: the
// simulated backend), 2 threads reading a Zipf(0.99) key sequence through the blocking get().
//
//   corral-ttl        ttl 200 ms: every key is reloaded by the first read after it expired, and
//                     that reader waits for the load
//   corral-refresh    refresh_after 150 ms, ttl 10 s: the first read of an entry older than
//                     150 ms gets the current value and starts one background reload
//   baseline-sharded  bench/baselines.hpp's sharded map holding (value, expiry), 200 ms TTL: a
//                     reader that finds the key absent or expired calls the loader itself
//
// Every configuration starts from all keys present (put, or the baseline's own put), reads for a
// warm-up period so that the expiries spread out as the workload spreads them, and then measures
// for `run_s`. loads = loader calls during the measured period; ideal_loads = distinct keys read
// during it x run time / refresh interval (refresh_after for corral-refresh, ttl for the others):
// what the loader would be called if each key read were reloaded exactly once per interval.
// Latency is that of one get(), timed on every 8th get of each thread (the key sequence is
// random, so the sample is too) into a log-bucketed histogram (runtime/engine/histogram.hpp: a
// quantile is its bucket's upper bound, at most 25% above the true value). ops_per_s counts every
// get.
//
// The target for corral-refresh: p99 is a hit (under 10 us) and loads are within 10% of
// ideal_loads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <time.h>

#include "bench/baselines.hpp"
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include "bench/zipf.hpp"
#include <corral/runtime/engine/histogram.hpp>
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t key_count = 10'000;
constexpr double zipf_exponent = 0.99;
constexpr std::size_t reader_threads = 2;
constexpr std::uint64_t seed = 0xc4a7'0d1e;
constexpr auto loader_delay = std::chrono::milliseconds(1);
constexpr auto ttl = std::chrono::milliseconds(200);
constexpr auto refresh_after = std::chrono::milliseconds(150);
constexpr auto refresh_ttl = std::chrono::seconds(10);
/// Enough that the refreshes keep up: 10,000 keys every 150 ms are ~67,000 loads/s of ~1.1 ms
/// each, i.e. ~73 loads in flight on average.
constexpr std::size_t loader_threads = 128;
constexpr std::uint64_t sample_every = 8; // time one get in this many (a power of two)

struct workload {
  std::vector<std::string> keys;
  std::vector<std::uint32_t> sequence; // indexes into keys, 2^20 of them, replayed cyclically
  std::size_t mask = 0;
};

std::string key_name(std::size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key-%05zu", i);
  return buf;
}

/// 15 characters: fits the small-string buffer, so copying a value out never allocates.
std::string value_for(const std::string& key) {
  return "val-" + key + "--";
}

workload make_workload() {
  workload w;
  w.keys.reserve(key_count);
  for (std::size_t i = 0; i < key_count; ++i)
    w.keys.push_back(key_name(i));
  // Popularity rank -> key: a random permutation, so hot keys are not neighbours in any shard.
  std::mt19937_64 rng{seed};
  std::vector<std::uint32_t> key_of_rank(key_count);
  std::iota(key_of_rank.begin(), key_of_rank.end(), 0u);
  std::shuffle(key_of_rank.begin(), key_of_rank.end(), rng);
  zipf_distribution zipf{key_count, zipf_exponent};
  w.sequence.resize(std::size_t{1} << 20);
  w.mask = w.sequence.size() - 1;
  for (auto& s : w.sequence)
    s = key_of_rank[zipf(rng)];
  return w;
}

/// The simulated backend: sleeps 1 ms and counts its calls. It also records, per key, the time
/// between two calls: with refresh_after, that is the refresh period each key really gets
/// (refresh_after + the wait for the next read + the time the reload took to start and end).
class slow_loader {
public:
  slow_loader() : last_ns_(key_count) {}

  std::string operator()(const std::string& key) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    const auto now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now().time_since_epoch())
            .count();
    const auto k = std::stoul(key.substr(4)); // "key-NNNNN"
    const auto prev = last_ns_[k].exchange(now, std::memory_order_relaxed);
    if (prev != 0 && measuring_.load(std::memory_order_relaxed)) {
      gap_ns_.fetch_add(now - prev, std::memory_order_relaxed);
      gaps_.fetch_add(1, std::memory_order_relaxed);
    }
    std::this_thread::sleep_for(loader_delay);
    return value_for(key);
  }
  std::uint64_t calls() const { return calls_.load(); }
  /// Only calls made after this count towards mean_gap_ms.
  void start_measuring() { measuring_.store(true); }
  /// Mean time between two calls for the same key, in ms (0 if none).
  double mean_gap_ms() const {
    const auto n = gaps_.load();
    return n == 0 ? 0.0 : static_cast<double>(gap_ns_.load()) / 1e6 / static_cast<double>(n);
  }

private:
  std::atomic<std::uint64_t> calls_{0};
  std::vector<std::atomic<std::int64_t>> last_ns_;
  std::atomic<bool> measuring_{false};
  std::atomic<std::int64_t> gap_ns_{0};
  std::atomic<std::uint64_t> gaps_{0};
};

/// CPU time consumed by every thread of the process.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct phases {
  double warmup_s;
  double run_s;
};

struct churn_result {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::uint64_t loads = 0; // loader calls during the measured period
  std::size_t distinct_keys = 0;
  double seconds = 0;
  double mean_gap_ms = 0;   // mean time between two loads of the same key
  double reader_cpu_s = 0;  // CPU time of the readers during the measured period, summed
  double process_cpu_s = 0; // CPU time of the whole process during the measured period
  corral::histogram_counts latency;
};

/// Runs the readers through a warm-up and a measured period. `get(key)` returns false on a
/// failed get. The coordinator flips `phase` (0 warm-up, 1 measured, 2 stop); each reader
/// resets what it measures when it first sees 1.
template <class Get>
churn_result run_readers(const workload& w, const phases& ph, slow_loader& loader, const Get& get) {
  struct alignas(64) per_thread {
    std::uint64_t ops = 0, errors = 0;
    double cpu_s = 0; // CPU time the thread got during the measured period
    std::vector<std::uint8_t> seen;
    corral::histogram_counts latency;
  };
  std::vector<per_thread> res(reader_threads);
  std::atomic<int> phase{0};
  spin_start gate;
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < reader_threads; ++t) {
    pool.emplace_back([&, t] {
      auto& r = res[t];
      r.seen.assign(key_count, 0);
      std::size_t pos = t * (w.sequence.size() / reader_threads);
      gate.arrive_and_wait();
      bool measuring = false;
      std::uint64_t ops = 0, errors = 0;
      double cpu0 = 0;
      for (std::uint64_t i = 0;; ++i) {
        const int p = phase.load(std::memory_order_relaxed);
        if (p != 0 && !measuring) {
          if (p == 2)
            break;
          measuring = true; // warm-up over: start counting from here
          ops = errors = 0;
          cpu0 = thread_cpu_seconds();
          r.latency = corral::histogram_counts{};
          std::fill(r.seen.begin(), r.seen.end(), std::uint8_t{0});
        } else if (p == 2) {
          break;
        }
        const std::uint32_t k = w.sequence[pos++ & w.mask];
        r.seen[k] = 1;
        bool ok;
        if ((i & (sample_every - 1)) == 0) {
          const auto t0 = bench_clock::now();
          ok = get(w.keys[k]);
          const auto ns = static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - t0)
                  .count());
          auto& h = r.latency;
          ++h.buckets[corral::latency_buckets::index_of(ns)];
          ++h.count;
          h.sum_ns += ns;
          h.max_ns = std::max(h.max_ns, ns);
        } else {
          ok = get(w.keys[k]);
        }
        ++ops;
        if (!ok)
          ++errors;
      }
      r.ops = ops;
      r.errors = errors;
      r.cpu_s = thread_cpu_seconds() - cpu0;
    });
  }
  gate.wait_all_arrived(reader_threads);
  gate.release();
  std::this_thread::sleep_for(std::chrono::duration<double>(ph.warmup_s));
  const auto loads0 = loader.calls();
  loader.start_measuring();
  const auto proc0 = process_cpu_seconds();
  const auto t0 = bench_clock::now();
  phase.store(1, std::memory_order_relaxed);
  std::this_thread::sleep_for(std::chrono::duration<double>(ph.run_s));
  phase.store(2, std::memory_order_relaxed);
  const auto t1 = bench_clock::now();
  const auto proc1 = process_cpu_seconds();
  const auto loads1 = loader.calls();
  for (auto& th : pool)
    th.join();

  churn_result out;
  out.seconds = seconds_between(t0, t1);
  out.loads = loads1 - loads0;
  out.mean_gap_ms = loader.mean_gap_ms();
  out.process_cpu_s = proc1 - proc0;
  std::vector<std::uint8_t> seen(key_count, 0);
  for (const auto& r : res) {
    out.ops += r.ops;
    out.errors += r.errors;
    out.reader_cpu_s += r.cpu_s;
    out.latency += r.latency;
    out.latency.max_ns = std::max(out.latency.max_ns, r.latency.max_ns);
    for (std::size_t k = 0; k < key_count; ++k)
      seen[k] |= r.seen[k];
  }
  out.distinct_keys = static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1));
  return out;
}

double us(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

/// Distinct keys read x run time / interval: one load per key read and interval.
double ideal_loads(const churn_result& r, std::chrono::milliseconds interval) {
  return static_cast<double>(r.distinct_keys) * r.seconds /
         std::chrono::duration<double>(interval).count();
}

json_line churn_line(const char* impl, const churn_result& r, std::chrono::milliseconds interval,
                     const phases& ph) {
  const double ideal = ideal_loads(r, interval);
  json_line line{"churn", impl};
  line.field("loads", r.loads)
      .field("ideal_loads", ideal)
      .field("loads_vs_ideal", static_cast<double>(r.loads) / ideal)
      .field("ops_per_s", static_cast<double>(r.ops) / r.seconds)
      .field("p50_us", us(r.latency.quantile(0.50)))
      .field("p99_us", us(r.latency.quantile(0.99)))
      .field("p999_us", us(r.latency.quantile(0.999)))
      .field("max_us", us(r.latency.max_ns))
      .field("ops", r.ops)
      .field("errors", r.errors)
      .field("distinct_keys", r.distinct_keys)
      .field("interval_ms", static_cast<std::uint64_t>(interval.count()))
      .field("run_s", r.seconds)
      .field("warmup_s", ph.warmup_s)
      .field("latency_samples", r.latency.count)
      .field("mean_reload_gap_ms", r.mean_gap_ms)
      // CPU time of the readers / (wall x readers): how much of the 2 cores they held.
      .field("reader_cpu_share", r.reader_cpu_s / (r.seconds * reader_threads));
  return line;
}

std::uint64_t counter_of(const corral::counter_values& v, corral::counter c) {
  return v[static_cast<std::size_t>(c)];
}

/// One corral configuration in a runtime of its own (so that one's background work never runs
/// during another's measurement).
void run_corral(const char* impl, const workload& w, const phases& ph, corral::cache_config cc,
                std::chrono::milliseconds interval) {
  std::fprintf(stderr, "churn: %s, %.1f s warm-up + %.1f s...\n", impl, ph.warmup_s, ph.run_s);
  // Declared before the runtime: loads still running when the runtime stops use it.
  slow_loader loader;
  corral::runtime_config rc;
  rc.loader_threads = loader_threads;
  corral::runtime rt{rc};
  auto cache =
      rt.make_cache<std::string>(cc, [&loader](const std::string& key) { return loader(key); });
  for (const auto& k : w.keys)
    cache.put(k, value_for(k));
  const auto before = cache.counters();
  auto r = run_readers(w, ph, loader, [&cache](const std::string& key) {
    auto v = cache.get(key);
    return v.ok() && v.value().size() == 15;
  });
  const auto after = cache.counters();
  auto delta = [&](corral::counter c) { return counter_of(after, c) - counter_of(before, c); };
  churn_line(impl, r, interval, ph)
      .field("loader_threads", loader_threads)
      // CPU time of every thread but the readers (CAF, loader pool, timers) per loader call:
      // what one load or refresh costs besides the 1 ms the loader sleeps (~4 us of it is the
      // sleep's own syscall and wake-up).
      .field("other_cpu_us_per_load",
             r.loads == 0 ? 0.0
                          : (r.process_cpu_s - r.reader_cpu_s) * 1e6 / static_cast<double>(r.loads))
      // Over warm-up and measured period together (the counters are not split by phase).
      .field("counter_hits", delta(corral::counter::hits))
      .field("counter_misses", delta(corral::counter::misses))
      .field("counter_loads", delta(corral::counter::loads))
      .field("counter_refreshes", delta(corral::counter::refreshes))
      .field("target_p99_under_10us", r.latency.quantile(0.99) < 10'000)
      .field("target_loads_within_10pct",
             std::abs(static_cast<double>(r.loads) / ideal_loads(r, interval) - 1.0) <= 0.10)
      .print();
  rt.shutdown(); // waits for the loads in flight, which still call `loader`
}

struct timed_value {
  std::string value;
  bench_clock::time_point expires;
};

void run_churn(const options& opt) {
  const phases ph = opt.quick ? phases{0.3, 1.0} : phases{1.0, 5.0};
  const auto w = make_workload();

  {
    corral::cache_config cc;
    cc.name = "churn-ttl";
    cc.ttl = ttl;
    run_corral("corral-ttl", w, ph, cc, ttl);
  }
  {
    corral::cache_config cc;
    cc.name = "churn-refresh";
    cc.ttl = refresh_ttl;
    cc.refresh_after = refresh_after;
    run_corral("corral-refresh", w, ph, cc, refresh_after);
  }
  {
    std::fprintf(stderr, "churn: baseline-sharded, %.1f s warm-up + %.1f s...\n", ph.warmup_s,
                 ph.run_s);
    sharded_map<timed_value> map;
    slow_loader loader;
    const auto now = bench_clock::now();
    for (const auto& k : w.keys)
      map.put(k, timed_value{value_for(k), now + ttl});
    auto r = run_readers(w, ph, loader, [&map, &loader](const std::string& key) {
      auto v = map.get(key);
      if (v && bench_clock::now() < v->expires)
        return v->value.size() == 15;
      // Absent or expired: this reader loads it (no single-flight, as a user writes it).
      timed_value fresh{loader(key), {}};
      fresh.expires = bench_clock::now() + ttl;
      const bool ok = fresh.value.size() == 15;
      map.put(key, std::move(fresh));
      return ok;
    });
    churn_line("baseline-sharded", r, ttl, ph).print();
  }
}

const registrar reg{"churn",
                    "Zipf reads of 10,000 keys with 1 ms loads: ttl vs refresh_after vs baseline",
                    50, &run_churn};

} // namespace
} // namespace bench
