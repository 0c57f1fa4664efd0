// drain: how fast a write-behind cache's writer (store/writer_actor.hpp) gets puts into each real
// store, and that none is lost. One line per store: "sqlite" (a file in a temp dir, the store's
// default synchronous=FULL in WAL mode), "postgres" and "redis" (servers this benchmark starts
// on loopback with the test fixtures in tests/support, configured as the tests run them:
// PostgreSQL with fsync off, Redis with appendfsync everysec).
//
// What is timed: from the first put until cache.flush() returns complete. 200,000 puts go to
// 200,000 distinct keys (20,000 with --quick), values of 100 bytes, into a write-behind cache
// with write_batch_size 1,000 (one transaction per 1,000 items: a MULTI/EXEC of 1,000 EVALSHA
// for Redis; 5,000 measured no better on the shared 2-core machine), write_interval 100 ms and
// max_dirty above N, so that no put ever waits for room.
// The writer starts draining as soon as 1,000 entries are dirty (the put path asks it to), so
// the puts and the drain overlap as they do in a service; the put loop itself takes a small
// part of the time (put_s) and is included, which makes items_per_s = N / (put_s + flush_s)
// a conservative figure for the drain alone. flush() is the barrier that says every item was
// committed (or dead-lettered: reported as dead_letters, expected 0).
//
// store_busy_s is the time the writer thread spent inside store calls (begin, save, commit:
// the store and its server's round trips); writer_overhead_s = put_s + flush_s - store_busy_s
// is the rest of the wall time: the put loop, collecting each batch from the table, marking the
// written entries clean, and the hand-offs between the writer actor and the writer thread (one
// batch at a time), including waits for a core on a busy machine.
//
// lost: after the runtime is gone, every key is read back through a fresh session of the same
// store (store.open(), find(key)) and compared with the value of its last put; lost counts the
// keys whose stored value differs or is absent. It must be 0.
//
// A store whose server cannot be started (no postgresql or redis-server installed) gets a line
// with an "error" field instead.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include "support/server_process.hpp"
#include <corral/runtime/runtime.hpp>
#include <corral/store/built_stores.hpp>
#include <corral/store/sqlite_store.hpp>
#if CORRAL_HAS_POSTGRES
#include "support/postgres_server.hpp"
#include <corral/store/postgres_store.hpp>
#endif
#if CORRAL_HAS_REDIS
#include "support/redis_server.hpp"
#include <corral/store/redis_store.hpp>
#endif

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

/// Wraps a store and adds up the time its sessions spend inside store calls (on the writer's
/// thread), so that the line can say how much of the drain is the store itself and how much is
/// the writer around it (collecting batches, marking entries clean, handing batches between the
/// writer actor and the writer thread). One virtual call more per item: negligible.
class timed_store final : public corral::write_store {
public:
  explicit timed_store(std::shared_ptr<corral::write_store> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  std::unique_ptr<corral::store_session> open() override {
    return std::make_unique<session>(inner_->open(), *this);
  }
  double busy_seconds() const { return static_cast<double>(busy_ns_.load()) * 1e-9; }
  std::uint64_t commits() const { return commits_.load(); }

private:
  class session final : public corral::store_session {
  public:
    session(std::unique_ptr<corral::store_session> inner, timed_store& owner)
        : inner_(std::move(inner)), owner_(owner) {}
    void begin() override {
      timed([&] { inner_->begin(); });
    }
    std::optional<std::string> find(const std::string& key) override {
      std::optional<std::string> out;
      timed([&] { out = inner_->find(key); });
      return out;
    }
    void save(const corral::store_record& r) override {
      timed([&] { inner_->save(r); });
    }
    void commit() override {
      timed([&] { inner_->commit(); });
      owner_.commits_.fetch_add(1, std::memory_order_relaxed);
    }
    void rollback() override {
      timed([&] { inner_->rollback(); });
    }
    bool usable() const override { return inner_->usable(); }

  private:
    template <class F> void timed(F f) {
      auto t0 = bench_clock::now();
      struct add { // also when the call throws
        timed_store& owner;
        bench_clock::time_point t0;
        ~add() {
          owner.busy_ns_.fetch_add(
              static_cast<std::uint64_t>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - t0)
                      .count()),
              std::memory_order_relaxed);
        }
      } guard{owner_, t0};
      f();
    }
    std::unique_ptr<corral::store_session> inner_;
    timed_store& owner_;
  };

  std::shared_ptr<corral::write_store> inner_;
  std::atomic<std::uint64_t> busy_ns_{0};
  std::atomic<std::uint64_t> commits_{0};
};

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
  auto timed = std::make_shared<timed_store>(store);
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
    auto cache = rt.make_write_behind_cache<std::string>(c, timed);

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
      .field("store_busy_s", timed->busy_seconds())
      .field("writer_overhead_s", put_s + flush_s - timed->busy_seconds())
      .field("transactions", timed->commits())
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

#if CORRAL_HAS_POSTGRES
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
#else
  print_error("postgres", "not built (CORRAL_WITH_POSTGRES=OFF)");
#endif

#if CORRAL_HAS_REDIS
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
#else
  print_error("redis", "not built (CORRAL_WITH_REDIS=OFF)");
#endif
}

const registrar reg{"drain",
                    "items/s from first put to flush() through the writer into SQLite, "
                    "PostgreSQL and Redis on loopback (1,000 per transaction), and lost writes",
                    70, &run_drain};

} // namespace
} // namespace bench
