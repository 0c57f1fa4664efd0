// miss: the cost of a cold miss when the loader itself costs nothing, i.e. what the key-actor
// layer adds to a load, against baseline-singleflight (bench/singleflight_map.hpp: 64 shards,
// shared_mutex, a shared_future per load in flight: what a careful user writes by hand).
//
// The loader returns at once: "v-" + key (13 characters, in std::string's small buffer). Keys
// are "key-0000000" (11 characters), built before any timing. Every get's value is compared
// with the expected one outside the timed region; a wrong value or an error counts in
// `errors`. corral gets a fresh runtime (default loader_threads) and a fresh cache (ttl 1 h,
// everything else default) per phase and size, so that every key is cold; the baseline a
// fresh map. Both are measured in the same run, baseline first; the corral line carries the
// same-run ratio and its targets. Each corral measurement runs in a child process
// (bench/child_process.hpp, forked before its runtime exists) that ends with _exit once it has
// sent its figures, so that no figure here includes stopping a runtime of 200,000 resident key
// actors (the teardown scenario measures that). A child that fails or runs longer than 10
// minutes gives a corral line with `failed`.
// Ratios on the corral lines: *_over_baseline = corral's latency / the baseline's (times
// slower); ratio_to_baseline = corral's misses/s / the baseline's.
//
//   sequential  1 thread, 20,000 distinct cold keys (--quick 2,000) after a warm-up of 500
//               other keys (not counted); each get timed with steady_clock: p50, p99, max and
//               mean in µs. Targets (corral): p50 <= 15 µs, p99 <= 60 µs.
//   after_idle  the same, but 50 ms of sleep before each of 200 misses (--quick 20), so that
//               every miss finds the runtime's threads idle. Target: p50 <= 50 µs.
//   threads     2, 8 and 32 threads, 200,000 distinct cold keys in all per thread count
//               (--quick 20,000), split into disjoint ranges; all threads parked on one
//               reader-writer lock and released at once. misses/s = keys / (release -> last
//               thread done). Target: corral >= 0.25 x the baseline's misses/s.
//   handoff_floor  what bounds the above on this machine: a condition-variable round trip
//               between two threads (two hand-offs), hot and after 50 ms of idleness; a cold
//               miss makes three (requester -> key actor -> loader -> requester).
//   scale       1 thread loads keys 0..N-1 cold through get(), for N = 10,000 and 1,000,000
//               (--quick 10,000 and 100,000), each on a fresh cache: per_key_us = total / N
//               (the mean over a cache that grows from 0 to N resident keys), misses_per_s,
//               and tail_per_key_us, the mean over the last tenth of the keys only (the cost
//               with ~N keys resident). growth = per_key_us(big) / per_key_us(small): whether
//               a miss costs more when more keys are resident. No target.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/child_process.hpp"
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/singleflight_map.hpp"
#include "bench/timing.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t warmup_keys = 500;
constexpr auto idle_gap = std::chrono::milliseconds(50);
constexpr std::size_t thread_counts[] = {2, 8, 32};
constexpr auto get_timeout = std::chrono::seconds(30);
constexpr auto corral_limit = std::chrono::minutes(10);

constexpr double target_sequential_p50_us = 15;
constexpr double target_sequential_p99_us = 60;
constexpr double target_after_idle_p50_us = 50;
constexpr double target_threads_ratio = 0.25;

struct sizes {
  std::size_t sequential;
  std::size_t after_idle;
  std::size_t threads_total; // keys per thread count, split over the threads
  std::size_t scale_small;
  std::size_t scale_big;
};

sizes sizes_for(const options& opt) {
  if (opt.quick)
    return {2'000, 20, 20'000, 10'000, 100'000};
  return {20'000, 200, 200'000, 10'000, 1'000'000};
}

std::string key_name(const char* prefix, std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-%07zu", prefix, i);
  return buf;
}

/// Keys prefix-first .. prefix-(first+n-1).
std::vector<std::string> key_range(const char* prefix, std::size_t first, std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = first; i < first + n; ++i)
    keys.push_back(key_name(prefix, i));
  return keys;
}

/// The loader: returns at once.
std::string value_of(const std::string& key) {
  return "v-" + key;
}

/// corral: a fresh runtime and cache, so that every key is cold.
class corral_impl {
public:
  static constexpr const char* name = "corral";

  corral_impl() : cache_(rt_.make_cache<std::string>(config(), &value_of)) {}

  std::optional<std::string> get(const std::string& key) const {
    auto r = cache_.get(key, get_timeout);
    if (!r.ok())
      return std::nullopt;
    return std::move(r).value();
  }

private:
  static corral::cache_config config() {
    corral::cache_config cc;
    cc.name = "miss";
    cc.ttl = std::chrono::hours(1);
    return cc;
  }

  corral::runtime rt_{};
  corral::cache<std::string> cache_;
};

/// baseline-singleflight: a fresh map.
class baseline_impl {
public:
  static constexpr const char* name = "baseline-singleflight";

  std::optional<std::string> get(const std::string& key) { return map_.get(key, &value_of); }

private:
  singleflight_map<std::string> map_;
};

struct latencies {
  std::size_t keys = 0;
  double p50_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
  std::uint64_t errors = 0;
};

/// Times each get of `keys` on its own, after getting `warmup` (untimed); sleeps `gap` before
/// each timed get when it is not zero.
template <class Impl>
latencies time_each(Impl& impl, const std::vector<std::string>& warmup,
                    const std::vector<std::string>& keys, std::chrono::milliseconds gap) {
  latencies r;
  r.keys = keys.size();
  for (const auto& k : warmup)
    if (impl.get(k) != value_of(k))
      ++r.errors;
  std::vector<double> us;
  us.reserve(keys.size());
  for (const auto& k : keys) {
    if (gap.count() > 0)
      std::this_thread::sleep_for(gap);
    const auto t0 = bench_clock::now();
    auto v = impl.get(k);
    const auto t1 = bench_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (v != value_of(k))
      ++r.errors;
  }
  double sum = 0;
  for (double u : us)
    sum += u;
  std::sort(us.begin(), us.end());
  r.p50_us = us[us.size() / 2];
  r.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  r.max_us = us.back();
  r.mean_us = sum / static_cast<double>(us.size());
  return r;
}

json_line latency_line(const char* impl, const char* phase, const latencies& r) {
  json_line line{"miss", impl};
  line.field("phase", phase)
      .field("keys", r.keys)
      .field("warmup_keys", warmup_keys)
      .field("p50_us", r.p50_us)
      .field("p99_us", r.p99_us)
      .field("max_us", r.max_us)
      .field("mean_us", r.mean_us)
      .field("errors", r.errors);
  return line;
}

/// `measure` on a fresh baseline map, in this process.
template <class Measure> auto on_baseline(const char* what, const Measure& measure) {
  std::fprintf(stderr, "miss: %s, %s...\n", baseline_impl::name, what);
  baseline_impl impl;
  return measure(impl);
}

/// `measure` on a fresh corral runtime and cache, in a child process that ends without
/// stopping the runtime. nullopt, and `why`, when the child failed.
template <class Measure>
auto on_corral(const char* what, const Measure& measure, std::string& why) {
  using figures = decltype(measure(std::declval<corral_impl&>()));
  std::fprintf(stderr, "miss: %s, %s (child process)...\n", corral_impl::name, what);
  std::optional<figures> r;
  const auto st = run_in_child<figures>(
      [&](const record_pipe& out) {
        auto* impl = new corral_impl; // never deleted: the child's _exit takes it away
        out.send(measure(*impl));
      },
      [&](const figures& f) {
        r = f;
        return keep_limit;
      },
      corral_limit);
  if (st.timed_out)
    why = "timed out after " + std::to_string(static_cast<long>(st.killed_after_s)) + " s";
  else if (!st.ok())
    why = st.failure;
  else if (!r)
    why = "the child sent no figures";
  if (!why.empty())
    r.reset();
  return r;
}

/// The corral line of a phase whose child failed.
json_line failed_line(const char* phase, const std::string& why) {
  json_line line{"miss", corral_impl::name};
  line.field("phase", phase).field("failed", why).field("met", false);
  return line;
}

void run_sequential(const sizes& sz) {
  const auto warmup = key_range("wrm", 0, warmup_keys);
  const auto keys = key_range("key", 0, sz.sequential);
  auto measure = [&](auto& impl) { return time_each(impl, warmup, keys, {}); };
  const auto base = on_baseline("sequential", measure);
  std::string why;
  if (const auto mine = on_corral("sequential", measure, why))
    latency_line(corral_impl::name, "sequential", *mine)
        .field("p50_over_baseline", mine->p50_us / base.p50_us)
        .field("p99_over_baseline", mine->p99_us / base.p99_us)
        .field("target_p50_us", target_sequential_p50_us)
        .field("target_p99_us", target_sequential_p99_us)
        .field("met", mine->p50_us <= target_sequential_p50_us &&
                          mine->p99_us <= target_sequential_p99_us && mine->errors == 0)
        .print();
  else
    failed_line("sequential", why).print();
  latency_line(baseline_impl::name, "sequential", base).print();
}

void run_after_idle(const sizes& sz) {
  const auto warmup = key_range("wrm", 0, warmup_keys);
  const auto keys = key_range("key", 0, sz.after_idle);
  auto measure = [&](auto& impl) { return time_each(impl, warmup, keys, idle_gap); };
  const auto base = on_baseline("after_idle", measure);
  std::string why;
  if (const auto mine = on_corral("after_idle", measure, why))
    latency_line(corral_impl::name, "after_idle", *mine)
        .field("idle_ms", static_cast<std::int64_t>(idle_gap.count()))
        .field("p50_over_baseline", mine->p50_us / base.p50_us)
        .field("p99_over_baseline", mine->p99_us / base.p99_us)
        .field("target_p50_us", target_after_idle_p50_us)
        .field("met", mine->p50_us <= target_after_idle_p50_us && mine->errors == 0)
        .print();
  else
    failed_line("after_idle", why).print();
  latency_line(baseline_impl::name, "after_idle", base)
      .field("idle_ms", static_cast<std::int64_t>(idle_gap.count()))
      .print();
}

struct throughput {
  std::size_t threads = 0;
  std::size_t keys = 0;
  double seconds = 0;
  double misses_per_s = 0;
  std::uint64_t errors = 0;
};

/// `threads` threads, each getting its own range of keys once, released together.
template <class Impl>
throughput run_parallel(Impl& impl, const std::vector<std::vector<std::string>>& ranges) {
  std::shared_mutex gate;
  std::unique_lock<std::shared_mutex> closed{gate};
  std::atomic<std::size_t> parked{0};
  std::atomic<std::uint64_t> errors{0};
  std::vector<bench_clock::time_point> done(ranges.size());
  std::vector<std::thread> threads;
  threads.reserve(ranges.size());
  for (std::size_t t = 0; t < ranges.size(); ++t) {
    threads.emplace_back([&, t] {
      parked.fetch_add(1);
      { std::shared_lock<std::shared_mutex> open{gate}; }
      std::uint64_t wrong = 0;
      for (const auto& k : ranges[t])
        if (impl.get(k) != value_of(k))
          ++wrong;
      done[t] = bench_clock::now();
      errors.fetch_add(wrong);
    });
  }
  while (parked.load() < ranges.size())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Let the last arrivals reach the lock before it opens.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto released = bench_clock::now();
  closed.unlock();
  for (auto& t : threads)
    t.join();
  throughput r;
  r.threads = ranges.size();
  for (const auto& keys : ranges)
    r.keys += keys.size();
  r.seconds = seconds_between(released, *std::max_element(done.begin(), done.end()));
  r.misses_per_s = static_cast<double>(r.keys) / r.seconds;
  r.errors = errors.load();
  return r;
}

json_line throughput_line(const char* impl, const throughput& r) {
  json_line line{"miss", impl};
  line.field("phase", "threads")
      .field("threads", r.threads)
      .field("keys", r.keys)
      .field("keys_per_thread", r.keys / r.threads)
      .field("seconds", r.seconds)
      .field("misses_per_s", r.misses_per_s)
      .field("errors", r.errors);
  return line;
}

void run_threads(const sizes& sz) {
  for (std::size_t threads : thread_counts) {
    const std::size_t per_thread = sz.threads_total / threads;
    std::vector<std::vector<std::string>> ranges;
    for (std::size_t t = 0; t < threads; ++t)
      ranges.push_back(key_range("key", t * per_thread, per_thread));
    const std::string what = "threads=" + std::to_string(threads);
    auto measure = [&](auto& impl) { return run_parallel(impl, ranges); };
    const auto base = on_baseline(what.c_str(), measure);
    std::string why;
    if (const auto mine = on_corral(what.c_str(), measure, why)) {
      const double ratio = mine->misses_per_s / base.misses_per_s;
      throughput_line(corral_impl::name, *mine)
          .field("ratio_to_baseline", ratio)
          .field("target_ratio_to_baseline", target_threads_ratio)
          .field("met", ratio >= target_threads_ratio && mine->errors == 0)
          .print();
    } else {
      failed_line("threads", why).field("threads", threads).print();
    }
    throughput_line(baseline_impl::name, base).print();
  }
}

struct fill {
  std::size_t keys = 0;
  double per_key_us = 0;
  double misses_per_s = 0;
  double tail_per_key_us = 0; // the last tenth of the keys
  std::uint64_t errors = 0;
};

/// Gets keys[0..] in order, once each; times the whole and its last tenth.
template <class Impl> fill fill_cold(Impl& impl, const std::vector<std::string>& keys) {
  fill r;
  r.keys = keys.size();
  const std::size_t tail_from = keys.size() - keys.size() / 10;
  const auto t0 = bench_clock::now();
  auto tail_t0 = t0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i == tail_from)
      tail_t0 = bench_clock::now();
    if (impl.get(keys[i]) != value_of(keys[i]))
      ++r.errors;
  }
  const auto t1 = bench_clock::now();
  const double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  r.per_key_us = us / static_cast<double>(keys.size());
  r.misses_per_s = 1e6 / r.per_key_us;
  r.tail_per_key_us = std::chrono::duration<double, std::micro>(t1 - tail_t0).count() /
                      static_cast<double>(keys.size() - tail_from);
  return r;
}

json_line scale_line(const char* impl, const fill& small, const fill& big) {
  json_line line{"miss", impl};
  line.field("phase", "scale")
      .field("keys_small", small.keys)
      .field("per_key_us_small", small.per_key_us)
      .field("tail_per_key_us_small", small.tail_per_key_us)
      .field("misses_per_s_small", small.misses_per_s)
      .field("keys_big", big.keys)
      .field("per_key_us_big", big.per_key_us)
      .field("tail_per_key_us_big", big.tail_per_key_us)
      .field("misses_per_s_big", big.misses_per_s)
      .field("growth", big.per_key_us / small.per_key_us)
      .field("errors", small.errors + big.errors);
  return line;
}

void run_scale(const sizes& sz) {
  const auto keys = key_range("key", 0, sz.scale_big); // the small run uses a prefix of them
  const std::vector<std::string> small_keys(keys.begin(),
                                            keys.begin() + static_cast<long>(sz.scale_small));
  auto measure_small = [&](auto& impl) { return fill_cold(impl, small_keys); };
  auto measure_big = [&](auto& impl) { return fill_cold(impl, keys); };
  const std::string small_what = "scale, " + std::to_string(sz.scale_small) + " keys";
  const std::string big_what = "scale, " + std::to_string(sz.scale_big) + " keys";
  const auto base_small = on_baseline(small_what.c_str(), measure_small);
  const auto base_big = on_baseline(big_what.c_str(), measure_big);
  std::string why;
  const auto mine_small = on_corral(small_what.c_str(), measure_small, why);
  const auto mine_big = mine_small ? on_corral(big_what.c_str(), measure_big, why) : std::nullopt;
  if (mine_small && mine_big)
    scale_line(corral_impl::name, *mine_small, *mine_big)
        .field("per_key_us_small_over_baseline", mine_small->per_key_us / base_small.per_key_us)
        .field("per_key_us_big_over_baseline", mine_big->per_key_us / base_big.per_key_us)
        .print();
  else
    failed_line("scale", why).print();
  scale_line(baseline_impl::name, base_small, base_big).print();
}

/// One condition-variable hand-off there and back between two threads, as corral's threads
/// hand a miss on: the floor under each of a cold miss's three hand-offs on this machine.
struct handoff_channel {
  std::mutex mtx;
  std::condition_variable cv;
  bool full = false;
  void put() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      full = true;
    }
    cv.notify_one();
  }
  void take() {
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return full; });
    full = false;
  }
};

void run_handoff_floor(const sizes& sz) {
  for (int idle_ms : {0, 50}) {
    const std::size_t n = idle_ms == 0 ? sz.sequential : sz.after_idle;
    handoff_channel there, back;
    std::thread echo([&] {
      for (std::size_t i = 0; i < n; ++i) {
        there.take();
        back.put();
      }
    });
    std::vector<double> us;
    us.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (idle_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
      const auto t0 = bench_clock::now();
      there.put();
      back.take();
      us.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count());
    }
    echo.join();
    std::sort(us.begin(), us.end());
    json_line{"miss", "condvar-round-trip"}
        .field("phase", "handoff_floor")
        .field("idle_ms", idle_ms)
        .field("round_trips", n)
        .field("p50_us", us[n / 2])
        .field("p99_us", us[n * 99 / 100])
        .print();
  }
}

void run_miss(const options& opt) {
  const auto sz = sizes_for(opt);
  run_handoff_floor(sz);
  run_sequential(sz);
  run_after_idle(sz);
  run_threads(sz);
  run_scale(sz);
}

const registrar reg{"miss",
                    "cold misses with a loader that returns at once: latency (sequential, after "
                    "idle), misses/s at 2-32 threads, cost at 10k vs 1M resident keys; vs a "
                    "hand-written single-flight map",
                    80, &run_miss};

} // namespace
} // namespace bench
