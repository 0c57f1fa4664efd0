// corral-demo --config config/default.json [--quiet]
//
// A load spike against cold keys: 10,000 concurrent requests over 100 keys whose loader takes
// 50 ms. Single-flight means one loader call per key however many requests pile up. Once the
// entries expire, a second identical spike must again cost exactly 100 loads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "start_gate.hpp"
#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr int key_count = 100;
constexpr int request_count = 10000;
constexpr int thread_count = 128;

std::atomic<int> price_loads{0};

// Deterministic so that every answer can be checked against what the loader must have said.
double price_of(const std::string& key) {
  return 100.0 + static_cast<double>(std::hash<std::string>{}(key) % 10000) / 100.0;
}

double demo_price(const std::string& key) {
  ++price_loads;
  std::this_thread::sleep_for(50ms); // a slow backend: this is what a stampede would multiply
  return price_of(key);
}

std::optional<std::string> zip_lookup(const std::string& zip) {
  if (zip == "10001")
    return std::string{"New York, NY"};
  return std::nullopt;
}

std::string key_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "SYM%03d", i);
  return buf;
}

double ms(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct wave_report {
  int loader_calls = 0;
  std::uint64_t hits = 0, misses = 0, loads = 0;
  int errors = 0; // failed requests plus wrong values
  std::vector<double> latencies_ms;
  double wall_ms = 0;
};

using corral::examples::start_gate;

// A single \r-updated line on a terminal; in a log (no TTY) only the final line, so CI output
// stays short.
void show_progress(int wave, int done, steady::duration elapsed, bool final_line, bool tty) {
  if (!tty && !final_line)
    return;
  std::fprintf(stderr, "%swave %d: %5d / %d requests, %6.0f ms%s", tty ? "\r" : "", wave, done,
               request_count, ms(elapsed), final_line ? "\n" : "");
  std::fflush(stderr);
}

wave_report run_wave(int wave, const corral::cache<double>& prices, bool quiet) {
  // Every key 100 times, shuffled so that all keys are asked for from the start.
  std::vector<std::string> keys;
  for (int i = 0; i < request_count; ++i)
    keys.push_back(key_name(i % key_count));
  std::shuffle(keys.begin(), keys.end(), std::mt19937{42u + static_cast<unsigned>(wave)});

  auto before = prices.counters();
  int loads_before = price_loads.load();
  std::atomic<int> done{0};
  std::atomic<int> errors{0};
  std::vector<std::vector<double>> samples(thread_count);
  start_gate gate;
  std::vector<std::thread> workers;
  for (int t = 0; t < thread_count; ++t)
    workers.emplace_back([&, t] {
      std::size_t from = keys.size() * t / thread_count;
      std::size_t to = keys.size() * (t + 1) / thread_count;
      samples[t].reserve(to - from);
      gate.wait();
      for (std::size_t i = from; i < to; ++i) {
        auto start = steady::now();
        auto r = prices.get(keys[i], 10s);
        samples[t].push_back(ms(steady::now() - start));
        if (!r.ok() || r.value() != price_of(keys[i]))
          ++errors;
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });

  auto start = steady::now();
  gate.open();
  bool tty = isatty(STDERR_FILENO) != 0;
  while (done.load() < request_count) {
    if (!quiet)
      show_progress(wave, done.load(), steady::now() - start, false, tty);
    std::this_thread::sleep_for(20ms);
  }
  for (auto& w : workers)
    w.join();

  wave_report rep;
  rep.wall_ms = ms(steady::now() - start);
  if (!quiet)
    show_progress(wave, done.load(), steady::now() - start, true, tty);
  auto after = prices.counters();
  auto delta = [&](corral::counter c) {
    auto i = static_cast<std::size_t>(c);
    return after[i] - before[i];
  };
  rep.hits = delta(corral::counter::hits);
  rep.misses = delta(corral::counter::misses);
  rep.loads = delta(corral::counter::loads);
  rep.loader_calls = price_loads.load() - loads_before;
  rep.errors = errors.load();
  for (auto& s : samples)
    rep.latencies_ms.insert(rep.latencies_ms.end(), s.begin(), s.end());
  std::sort(rep.latencies_ms.begin(), rep.latencies_ms.end());
  return rep;
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

// "0.7 µs", "63.4 ms": hits take microseconds, misses wait for a 50 ms load.
std::string latency(double ms_value) {
  char buf[32];
  if (ms_value < 1.0)
    std::snprintf(buf, sizeof buf, "%.1f µs", ms_value * 1000.0);
  else
    std::snprintf(buf, sizeof buf, "%.1f ms", ms_value);
  return buf;
}

const char* table_legend =
    "Tables: \"last\" is the metrics window being filled (it has just started when a table is\n"
    "printed at the end of a cycle), \"cycle\" sums the last completed windows (metrics_windows\n"
    "x metrics_cycle), \"total\" counts everything since start. A table is printed for each\n"
    "cycle in which requests arrived, and once at the end.\n";

void print_report(int wave, const char* title, const wave_report& r) {
  const auto& l = r.latencies_ms;
  std::printf("wave %d (%s)\n", wave, title);
  std::printf("  requests      %d over %d keys, %d threads\n", request_count, key_count,
              thread_count);
  std::printf("  loader calls  %d (corral counted %llu loads)\n", r.loader_calls,
              static_cast<unsigned long long>(r.loads));
  std::printf("  hits          %llu\n", static_cast<unsigned long long>(r.hits));
  std::printf("  misses        %llu (waited for a load)\n",
              static_cast<unsigned long long>(r.misses));
  std::printf("  errors        %d\n", r.errors);
  std::printf("  latency       p50 %s  p90 %s  p99 %s  max %s\n",
              latency(percentile(l, 0.50)).c_str(), latency(percentile(l, 0.90)).c_str(),
              latency(percentile(l, 0.99)).c_str(), latency(l.empty() ? 0.0 : l.back()).c_str());
  std::printf("  wall time     %.1f ms\n", r.wall_ms);
}

// What a person wants from the run, at a glance.
void print_summary(const wave_report& a, const wave_report& b, const corral::metrics_snapshot& m) {
  const auto& t = m.total;
  auto requests = static_cast<unsigned long long>(t.requests);
  auto misses = static_cast<unsigned long long>(t.misses);
  auto loads = static_cast<unsigned long long>(t.loads);
  std::printf("summary\n");
  std::printf("  requests      %llu in 2 waves (%d threads, %d keys)\n", requests, thread_count,
              key_count);
  std::printf("  hit ratio     %.1f%% (%llu hits, %llu waited for a load, %llu errors)\n",
              t.hit_rate * 100.0, static_cast<unsigned long long>(t.hits), misses,
              static_cast<unsigned long long>(t.errors));
  std::printf("  single-flight %llu loads for %llu misses: %llu loader calls saved\n", loads,
              misses, misses > loads ? misses - loads : 0ULL);
  std::printf("  request p99   wave 1 %s, wave 2 %s (p50 %s / %s)\n",
              latency(percentile(a.latencies_ms, 0.99)).c_str(),
              latency(percentile(b.latencies_ms, 0.99)).c_str(),
              latency(percentile(a.latencies_ms, 0.50)).c_str(),
              latency(percentile(b.latencies_ms, 0.50)).c_str());
  std::printf("  load p99      %s (loader sleeps 50 ms)\n",
              latency(static_cast<double>(t.load_time.p99_ns) / 1e6).c_str());
}

int usage() {
  std::fprintf(stderr, "usage: corral-demo --config <file.json> [--quiet]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      config_path = argv[++i];
    else if (std::strcmp(argv[i], "--quiet") == 0)
      quiet = true;
    else
      return usage();
  }
  if (config_path.empty())
    return usage();

  corral::runtime_config cfg;
  try {
    cfg = corral::load_config_file(config_path);
  } catch (const corral::config_error& e) {
    // what() starts with "<path>: "; print the path on its own so it stands out.
    std::string message = e.what();
    if (!e.path().empty() && message.rfind(e.path() + ": ", 0) == 0)
      message.erase(0, e.path().size() + 2);
    std::fprintf(stderr, "corral-demo: cannot use config file '%s'\n  at %s: %s\n",
                 config_path.c_str(), e.path().empty() ? "(file)" : e.path().c_str(),
                 message.c_str());
    return 2;
  }

  corral::runtime rt{cfg};
  rt.register_loader<double>("demo_price", demo_price);
  rt.register_loader<std::string>("zip_lookup", zip_lookup);
  corral::cache<double> prices;
  try {
    prices = rt.cache<double>("prices");
  } catch (const std::exception& e) {
    // The file parsed but does not declare what the demo needs (or with another type).
    std::fprintf(stderr, "corral-demo: config file '%s' is unusable: %s\n", config_path.c_str(),
                 e.what());
    return 2;
  }

  // One compact table per metrics cycle (metrics_cycle in the config) for the prices cache,
  // skipping idle cycles: a cycle without requests would print the previous table again.
  std::mutex print_mtx;
  std::uint64_t printed_requests = 0;
  std::printf("%s\n", table_legend);
  rt.on_metrics([&](const corral::metrics_snapshot& s) {
    if (s.cache != "prices")
      return;
    std::lock_guard<std::mutex> guard{print_mtx};
    if (s.total.requests == printed_requests)
      return;
    printed_requests = s.total.requests;
    std::printf("%s\n", corral::format_table(s).c_str());
    std::fflush(stdout);
  });

  auto ttl = prices.config().ttl;
  auto first = run_wave(1, prices, quiet);
  // Entries must be expired, not merely close to it, for the second wave to be cold again.
  std::this_thread::sleep_for(ttl + 300ms);
  auto second = run_wave(2, prices, quiet);

  rt.on_metrics({}); // the callback refers to locals of this scope
  {
    std::lock_guard<std::mutex> guard{print_mtx};
    print_report(1, "cold keys", first);
    print_report(2, "after ttl expiry", second);
    auto final_metrics = prices.metrics();
    std::printf("\nat the end:\n%s\n", corral::format_table(final_metrics).c_str());
    print_summary(first, second, final_metrics);
  }
  rt.shutdown();

  // With ttl 0 nothing expires, so the second wave should load nothing.
  int expected_second = ttl.count() > 0 ? key_count : 0;
  bool held = first.loader_calls == key_count && second.loader_calls == expected_second;
  bool clean = first.errors == 0 && second.errors == 0;
  if (held && clean)
    std::printf("single-flight held: %d loads for %d,%03d requests per wave\n", key_count,
                request_count / 1000, request_count % 1000);
  else
    std::printf("FAILED: loads per wave %d and %d (expected %d and %d), errors %d and %d\n",
                first.loader_calls, second.loader_calls, key_count, expected_second, first.errors,
                second.errors);
  return held && clean ? 0 : 1;
}
