// teardown: how long a runtime takes to stop once it holds N keys, and whether that grows
// faster than N.
//
// For N = 100,000, 300,000 and 1,000,000 distinct keys (--quick 10,000, 30,000, 100,000), in
// increasing order, each in a fresh runtime (default runtime_config) in a child process of
// its own: 4 threads load the N keys cold through get() (a loader that returns at once: "v-" +
// key; keys "key-0000000"), load_s; then rt.shutdown() is timed (shutdown_ms), then the
// runtime's destructor (destroy_ms; the runtime is held in a std::optional). total_ms =
// shutdown_ms + destroy_ms, us_per_key = total_ms * 1000 / N. The cache handle is dropped
// before shutdown, so the destructor frees the entries too.
//
//   mode "resident"    idle_timeout 1 h (longer than any load phase), so all N key actors are
//                      still resident when shutdown starts (resident_actors says how many).
//   mode "passivated"  idle_timeout 100 ms, prune_interval 50 ms: after the load,
//                      cache.metrics().gauges.resident_actors is polled every 10 ms until it
//                      is 0 (passivated_s, from the end of the load; after 60 s the wait gives
//                      up and resident_actors says what was left), then shutdown + destroy.
//
// Targets, on one summary line per mode: total_ms at the largest N <= 3000 ms
// (target_total_ms, met_total) and us_per_key_growth = us_per_key(largest N) /
// us_per_key(smallest N) <= 2 (target_us_per_key_growth, met_growth); met = both. A size
// that was not measured leaves them null and unmet.
//
// Protection against a teardown that grows quadratically: each size runs in a child made by
// fork() before its runtime exists (bench/child_process.hpp; CAF's threads belong to the
// runtime, so the child starts with one thread; the parent holds no runtime while it forks).
// The child sends its figures to the parent through a pipe after each step (load,
// passivation, shutdown, destroy), and the parent prints the line. A child still in its
// teardown (shutdown + destroy) 180 s after the teardown started is killed (timed_out,
// timed_out_in says in which step, killed_after_s how long it had run; the steps it finished
// keep their figures); the load and the passivation wait have limits of their own (600 s,
// 90 s). The next larger sizes are skipped (skipped, reason) once a size's teardown took more
// than 60 s, timed out or failed.
//
// baseline-singleflight: the same N keys through bench/singleflight_map.hpp (one thread, in
// this process), and the time its destructor takes: the floor of freeing N entries.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/child_process.hpp"
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/singleflight_map.hpp"
#include "bench/timing.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t load_threads = 4;
constexpr auto get_timeout = std::chrono::seconds(30);
constexpr auto poll_period = std::chrono::milliseconds(10);
constexpr auto passivation_give_up = std::chrono::seconds(60);

// The parent's limits per step of a child, counted from the end of the step before.
constexpr auto load_limit = std::chrono::seconds(600);
constexpr auto passivation_limit = std::chrono::seconds(90);
constexpr auto teardown_limit = std::chrono::seconds(180);
constexpr double skip_after_total_ms = 60'000;

constexpr double target_total_ms = 3000;
constexpr double target_us_per_key_growth = 2;

const double nothing = std::numeric_limits<double>::quiet_NaN(); // printed as null

enum class mode { resident, passivated };

const char* mode_name(mode m) {
  return m == mode::resident ? "resident" : "passivated";
}

/// Formats key i into `buf` ("key-0000000") and returns a view of it.
std::string_view key_into(char (&buf)[32], std::size_t i) {
  int n = std::snprintf(buf, sizeof buf, "key-%07zu", i);
  return std::string_view{buf, static_cast<std::size_t>(n)};
}

/// The loader: returns at once.
std::string value_of(const std::string& key) {
  return "v-" + key;
}

/// The steps of a child, in order.
enum class step : std::int32_t { started, loaded, passivated, shut_down, destroyed };

const char* step_name(step s) {
  switch (s) {
  case step::started:
    return "load";
  case step::loaded:
    return "passivation";
  case step::passivated:
    return "shutdown";
  case step::shut_down:
    return "destroy";
  case step::destroyed:
    break;
  }
  return "exit";
}

/// What a child sends after each step: the whole record each time (well under PIPE_BUF, so
/// one write is atomic and the parent reads whole records).
struct child_report {
  step done = step::started;
  std::uint64_t errors = 0;
  std::uint64_t resident_actors = 0; // when shutdown started
  std::uint64_t entries = 0;         // when shutdown started
  double load_s = 0;
  double passivated_s = 0; // NaN when the wait gave up
  double shutdown_ms = 0;
  double destroy_ms = 0;
};

/// The child's whole work for one size. Runs in the forked child.
void child_main(const record_pipe& out, std::size_t keys, mode m) {
  child_report r;
  corral::runtime_config rc;
  std::optional<corral::runtime> rt;
  rt.emplace(rc);
  corral::cache_config cc;
  cc.name = "teardown";
  cc.ttl = std::chrono::hours(1);
  if (m == mode::resident) {
    cc.idle_timeout = std::chrono::hours(1);
  } else {
    cc.idle_timeout = std::chrono::milliseconds(100);
    cc.prune_interval = std::chrono::milliseconds(50);
  }
  std::optional<corral::cache<std::string>> cache;
  cache.emplace(rt->make_cache<std::string>(cc, &value_of));

  std::atomic<std::uint64_t> errors{0};
  const auto t0 = bench_clock::now();
  {
    std::vector<std::thread> loaders;
    for (std::size_t t = 0; t < load_threads; ++t) {
      loaders.emplace_back([&, t] {
        char buf[32];
        std::uint64_t wrong = 0;
        for (std::size_t i = t; i < keys; i += load_threads) {
          auto k = key_into(buf, i);
          auto v = cache->get(k, get_timeout);
          if (!v.ok() || v.value() != value_of(std::string{k}))
            ++wrong;
        }
        errors.fetch_add(wrong);
      });
    }
    for (auto& t : loaders)
      t.join();
  }
  const auto loaded = bench_clock::now();
  r.load_s = seconds_between(t0, loaded);
  r.errors = errors.load();
  r.done = step::loaded;
  out.send(r);
  std::fprintf(stderr, "teardown: %s, %zu keys loaded in %.1f s\n", mode_name(m), keys, r.load_s);

  if (m == mode::passivated) {
    r.passivated_s = nothing;
    for (;;) {
      const auto now = bench_clock::now();
      if (cache->metrics().gauges.resident_actors == 0) {
        r.passivated_s = seconds_between(loaded, now);
        break;
      }
      if (now - loaded >= passivation_give_up)
        break;
      std::this_thread::sleep_for(poll_period);
    }
  }
  const auto gauges = cache->metrics().gauges;
  r.resident_actors = gauges.resident_actors;
  r.entries = gauges.entries;
  r.done = step::passivated;
  out.send(r);
  cache.reset();

  const auto s0 = bench_clock::now();
  rt->shutdown();
  const auto s1 = bench_clock::now();
  r.shutdown_ms = ms_between(s0, s1);
  r.done = step::shut_down;
  out.send(r);
  rt.reset();
  r.destroy_ms = ms_between(s1, bench_clock::now());
  r.done = step::destroyed;
  out.send(r);
}

struct outcome {
  child_report report;
  child_status status;
  bool timed_out() const { return status.timed_out; }
  double total_ms() const { return report.shutdown_ms + report.destroy_ms; }
  bool complete() const { return status.ok() && report.done == step::destroyed; }
  std::string failure() const {
    if (!status.failure.empty() || timed_out())
      return status.failure;
    if (report.done != step::destroyed)
      return std::string{"child ended during "} + step_name(report.done);
    return {};
  }
};

/// The limit of the step after `done`.
std::chrono::seconds limit_after(step done) {
  switch (done) {
  case step::started:
    return load_limit;
  case step::loaded:
    return passivation_limit;
  default:
    return teardown_limit; // shutdown and destroy together
  }
}

/// Runs child_main in a child process and collects its reports.
outcome run_child(std::size_t keys, mode m) {
  outcome o;
  o.status = run_in_child<child_report>(
      [&](const record_pipe& out) { child_main(out, keys, m); },
      [&](const child_report& r) -> std::optional<std::chrono::milliseconds> {
        const auto before = o.report.done;
        o.report = r;
        // Shutdown and destroy share one limit: only the steps before them start a new one.
        if (before < step::passivated)
          return limit_after(r.done);
        return keep_limit;
      },
      limit_after(step::started));
  return o;
}

struct measured {
  std::size_t keys = 0;
  double us_per_key = 0;
  double total_ms = 0;
};

void print_size(mode m, std::size_t keys, const outcome& o) {
  const auto& r = o.report;
  const bool loaded = r.done >= step::loaded;
  const bool waited = r.done >= step::passivated;
  const bool shut = r.done >= step::shut_down;
  const bool destroyed = r.done >= step::destroyed;
  json_line line{"teardown", "corral"};
  line.field("mode", mode_name(m)).field("keys", keys).field("load_s", loaded ? r.load_s : nothing);
  if (m == mode::passivated)
    line.field("passivated_s", waited ? r.passivated_s : nothing);
  line.field("resident_actors", waited ? static_cast<double>(r.resident_actors) : nothing)
      .field("entries", waited ? static_cast<double>(r.entries) : nothing)
      .field("shutdown_ms", shut ? r.shutdown_ms : nothing)
      .field("destroy_ms", destroyed ? r.destroy_ms : nothing)
      .field("total_ms", destroyed ? o.total_ms() : nothing)
      .field("us_per_key", destroyed ? o.total_ms() * 1000 / static_cast<double>(keys) : nothing)
      .field("errors", r.errors);
  if (o.timed_out())
    line.field("timed_out", true)
        .field("timed_out_in", step_name(r.done))
        .field("killed_after_s", o.status.killed_after_s);
  if (!o.failure().empty())
    line.field("failed", o.failure());
  line.print();
}

void print_skipped(mode m, std::size_t keys, const std::string& reason) {
  json_line{"teardown", "corral"}
      .field("mode", mode_name(m))
      .field("keys", keys)
      .field("skipped", true)
      .field("reason", reason)
      .print();
}

void run_mode(mode m, const std::vector<std::size_t>& sizes) {
  std::vector<std::optional<measured>> results;
  std::string skip_reason;
  for (std::size_t keys : sizes) {
    if (!skip_reason.empty()) {
      print_skipped(m, keys, skip_reason);
      results.emplace_back();
      continue;
    }
    std::fprintf(stderr, "teardown: %s, %zu keys (child process)...\n", mode_name(m), keys);
    const auto o = run_child(keys, m);
    print_size(m, keys, o);
    if (o.complete()) {
      results.push_back(
          measured{keys, o.total_ms() * 1000 / static_cast<double>(keys), o.total_ms()});
      if (o.total_ms() > skip_after_total_ms)
        skip_reason = std::to_string(keys) + " keys took " +
                      std::to_string(static_cast<long>(o.total_ms() / 1000)) +
                      " s to tear down (> 60 s)";
    } else {
      results.emplace_back();
      skip_reason = std::to_string(keys) + " keys " +
                    (o.timed_out() ? std::string{"timed out in "} + step_name(o.report.done)
                                   : "failed: " + o.failure());
    }
  }
  const auto& smallest = results.front();
  const auto& largest = results.back();
  const double total_largest = largest ? largest->total_ms : nothing;
  const double growth = smallest && largest ? largest->us_per_key / smallest->us_per_key : nothing;
  const bool met_total = largest && largest->total_ms <= target_total_ms;
  const bool met_growth = smallest && largest && growth <= target_us_per_key_growth;
  json_line{"teardown", "corral"}
      .field("mode", mode_name(m))
      .field("summary", true)
      .field("keys_smallest", sizes.front())
      .field("keys_largest", sizes.back())
      .field("us_per_key_smallest", smallest ? smallest->us_per_key : nothing)
      .field("us_per_key_largest", largest ? largest->us_per_key : nothing)
      .field("total_ms_largest", total_largest)
      .field("target_total_ms", target_total_ms)
      .field("met_total", met_total)
      .field("us_per_key_growth", growth)
      .field("target_us_per_key_growth", target_us_per_key_growth)
      .field("met_growth", met_growth)
      .field("met", met_total && met_growth)
      .print();
}

/// The floor: a hand-written map's destructor with the same keys (in this process).
void run_baseline(const std::vector<std::size_t>& sizes) {
  for (std::size_t keys : sizes) {
    std::fprintf(stderr, "teardown: baseline-singleflight, %zu keys...\n", keys);
    auto map = std::make_unique<singleflight_map<std::string>>();
    std::uint64_t errors = 0;
    char buf[32];
    const auto t0 = bench_clock::now();
    for (std::size_t i = 0; i < keys; ++i) {
      const std::string k{key_into(buf, i)};
      if (map->get(k, &value_of) != value_of(k))
        ++errors;
    }
    const auto t1 = bench_clock::now();
    map.reset();
    const double destroy_ms = ms_between(t1, bench_clock::now());
    json_line{"teardown", "baseline-singleflight"}
        .field("keys", keys)
        .field("load_s", seconds_between(t0, t1))
        .field("destroy_ms", destroy_ms)
        .field("total_ms", destroy_ms)
        .field("us_per_key", destroy_ms * 1000 / static_cast<double>(keys))
        .field("errors", errors)
        .print();
  }
}

void run_teardown(const options& opt) {
  const std::vector<std::size_t> sizes =
      opt.quick ? std::vector<std::size_t>{10'000, 30'000, 100'000}
                : std::vector<std::size_t>{100'000, 300'000, 1'000'000};
  run_mode(mode::resident, sizes);
  run_mode(mode::passivated, sizes);
  run_baseline(sizes);
}

const registrar reg{"teardown",
                    "shutdown + destructor time of a runtime holding 100k, 300k, 1M keys, with "
                    "key actors resident and passivated (each size in a child process)",
                    90, &run_teardown};

} // namespace
} // namespace bench
