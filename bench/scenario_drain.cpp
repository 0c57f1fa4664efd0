// drain: how fast a write-behind cache's writer (actors/writer.hpp) gets puts into each real
// store, and that none is lost. One line per store: "sqlite" (a file in a temp dir, the store's
// default synchronous=FULL in WAL mode), "postgres" and "redis" (servers this benchmark starts
// on loopback with the test fixtures in tests/support, configured as the tests run them:
// PostgreSQL with fsync off, Redis with appendfsync everysec).
//
// What is timed: from the first put until cache.flush() returns complete. 200,000 puts go to
// 200,000 distinct keys (20,000 with --quick), values of 100 bytes, into a write-behind cache
// with write_batch_size 1,000 (one transaction per 1,000 items: a MULTI/EXEC of 1,000 EVALSHA
// for Redis), write_interval 100 ms and max_dirty above N, so that no put ever waits for room.
// The writer starts draining as soon as 1,000 entries are dirty (the put path asks it to), so
// the puts and the drain overlap as they do in a service; the put loop itself takes a small
// part of the time (put_s) and is included, which makes items_per_s = N / (put_s + flush_s)
// a conservative figure for the drain alone. flush() is the barrier that says every item was
// committed (or dead-lettered: reported as dead_letters, expected 0).
//
// lost: after the runtime is gone, every key is read back through a fresh session of the same
// store (store.open(), find(key)) and compared with the value of its last put; lost counts the
// keys whose stored value differs or is absent. It must be 0.
//
// A store whose server cannot be started (no postgresql or redis-server installed) gets a line
// with an "error" field instead.
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include "runtime/runtime.hpp"
#include "store/postgres_store.hpp"
#include "store/redis_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/postgres_server.hpp"
#include "support/redis_server.hpp"

namespace bench {
namespace {

constexpr std::size_t batch_size = 1000;
constexpr std::size_t value_bytes = 100;

struct workload {
  std::vector<std::string> keys;
  std::vector<std::string> values; // the last (only) put of each key
};

workload make_workload(std::size_t n) {
  workload w;
  w.keys.reserve(n);
  w.values.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key-%07zu", i);
    w.keys.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "v%zu:", i);
    std::string v = buf;
    v.resize(value_bytes, 'x');
    w.values.push_back(std::move(v));
  }
  return w;
}

void print_error(const char* store, const std::string& what) {
  json_line{"drain", "corral-write-behind"}.field("store", store).field("error", what).print();
}

/// Puts the workload into a write-behind cache on `store`, flushes, then checks every key
/// through a fresh session. `extra` adds store-specific fields to the line.
void measure(const char* label, const std::shared_ptr<corral::write_store>& store,
             const workload& w, const std::function<void(json_line&)>& extra) {
  const std::size_t n = w.keys.size();
  corral::flush_result flushed;
  double put_s = 0, flush_s = 0;
  std::uint64_t writes = 0, failures = 0, dead = 0;
  std::size_t refused = 0, dirty_after = 0;
  {
    corral::runtime_config rc;
    rc.scheduler_threads = 2;
    rc.loader_threads = 1;
    corral::runtime rt{rc};
    corral::cache_config c;
    c.name = std::string{"drain-"} + label;
    c.write_batch_size = batch_size;
    c.write_interval = std::chrono::milliseconds(100);
    c.max_dirty = n + 1; // never waits for room: this measures the drain, not back-pressure
    c.flush_timeout = std::chrono::seconds(120);
    auto cache = rt.make_write_behind_cache<std::string>(c, store);

    const auto t0 = bench_clock::now();
    for (std::size_t i = 0; i < n; ++i)
      if (cache.try_put(w.keys[i], w.values[i]).code != corral::errc::none)
        ++refused;
    const auto t1 = bench_clock::now();
    flushed = cache.flush(std::chrono::minutes(10));
    const auto t2 = bench_clock::now();
    put_s = seconds_between(t0, t1);
    flush_s = seconds_between(t1, t2);
    dirty_after = cache.dirty();
    auto counters = cache.counters();
    writes = counters[static_cast<std::size_t>(corral::counter::writes)];
    failures = counters[static_cast<std::size_t>(corral::counter::write_failures)];
    dead = counters[static_cast<std::size_t>(corral::counter::dead_letters)];
  } // the runtime stops here: nothing of the cache is left but what the store has

  std::fprintf(stderr, "drain: %s: checking %zu keys through a fresh session...\n", label, n);
  std::size_t lost = 0;
  std::string example;
  {
    auto session = store->open();
    for (std::size_t i = 0; i < n; ++i) {
      auto got = session->find(w.keys[i]);
      if (got != w.values[i] && lost++ == 0)
        example = w.keys[i] + ": " + (got ? got->substr(0, 20) : std::string{"<absent>"});
    }
  }

  json_line line{"drain", "corral-write-behind"};
  line.field("store", label)
      .field("items", n)
      .field("keys", n)
      .field("value_bytes", value_bytes)
      .field("write_batch_size", batch_size)
      .field("items_per_s", static_cast<double>(n) / (put_s + flush_s))
      .field("put_s", put_s)
      .field("flush_s", flush_s)
      .field("lost", lost)
      .field("flush_complete", flushed.complete)
      .field("writes", writes)
      .field("write_failures", failures)
      .field("dead_letters", dead)
      .field("refused_puts", refused)
      .field("dirty_after", dirty_after);
  extra(line);
  if (!flushed.error.empty())
    line.field("flush_error", flushed.error);
  if (lost > 0)
    line.field("lost_example", example);
  line.print();
}

void run_drain(const options& opt) {
  const std::size_t n = opt.quick ? 20'000 : 200'000;
  const auto w = make_workload(n);

  try {
    corral::test::temp_dir dir("corral-bench-drain");
    corral::sqlite_store_options o;
    o.path = (dir.path() / "drain.db").string();
    auto store = std::make_shared<corral::sqlite_store>(o);
    measure("sqlite", store, w, [&](json_line& l) {
      l.field("target_items_per_s", 50'000)
          .field("sqlite_synchronous", o.synchronous_full ? "full" : "normal");
    });
  } catch (const std::exception& e) {
    print_error("sqlite", e.what());
  }

  try {
    std::fprintf(stderr, "drain: starting postgres...\n");
    corral::test::postgres_server pg;
    corral::postgres_store_options o;
    o.conninfo = pg.conninfo();
    measure("postgres", std::make_shared<corral::postgres_store>(o), w,
            [](json_line& l) { l.field("target_items_per_s", 20'000); });
  } catch (const std::exception& e) {
    print_error("postgres", e.what());
  }

  try {
    std::fprintf(stderr, "drain: starting redis-server...\n");
    corral::test::redis_server redis;
    corral::redis_store_options o;
    o.host = redis.host();
    o.port = redis.port();
    measure("redis", std::make_shared<corral::redis_store>(o), w,
            [](json_line& l) { l.field("target_items_per_s", 100'000); });
  } catch (const std::exception& e) {
    print_error("redis", e.what());
  }
}

const registrar reg{"drain",
                    "items/s from first put to flush() through the writer into SQLite, "
                    "PostgreSQL and Redis on loopback (1,000 per transaction), and lost writes",
                    70, &run_drain};

} // namespace
} // namespace bench
