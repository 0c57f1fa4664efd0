// store: raw throughput of each write store, without the cache or the writer in front: batches
// of 1,000 version-guarded saves, one transaction each, through one session, against a real
// SQLite file and real PostgreSQL and Redis servers started on loopback (tests/support). One
// line per store with items_per_s, and lost = keys whose stored value is not the one saved
// (checked by find after the last commit; must be 0).
//
// The servers run as the tests run them: PostgreSQL with fsync off, Redis with appendfsync
// everysec, SQLite with synchronous=NORMAL (WAL) and, on a second line, FULL (the default).
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include "tests/support/server_process.hpp"
#include <corral/store/built_stores.hpp>
#include <corral/store/sqlite_store.hpp>
#if CORRAL_HAS_POSTGRES
#include "tests/support/postgres_server.hpp"
#include <corral/store/postgres_store.hpp>
#endif
#if CORRAL_HAS_REDIS
#include "tests/support/redis_server.hpp"
#include <corral/store/redis_store.hpp>
#endif

#include <cstdio>
#include <exception>
#include <string>

namespace bench {
namespace {

constexpr std::size_t batch = 1000;

void measure(corral::write_store& store, const char* label, std::size_t items) {
  auto session = store.open();
  std::string value(100, 'v');
  auto start = bench_clock::now();
  for (std::size_t done = 0; done < items; done += batch) {
    session->begin();
    for (std::size_t i = done; i < done + batch; ++i)
      session->save({"key-" + std::to_string(i), value, i + 1});
    session->commit();
  }
  double secs = seconds_between(start, bench_clock::now());
  std::size_t lost = 0;
  for (std::size_t i = 0; i < items; ++i)
    if (session->find("key-" + std::to_string(i)) != value)
      ++lost;
  json_line{"store", label}
      .field("store", store.name())
      .field("items", items)
      .field("batch", batch)
      .field("items_per_s", static_cast<double>(items) / secs)
      .field("lost", lost)
      .print();
}

void run_store(const options& opt) {
  std::size_t items = opt.quick ? 20'000 : 100'000;
  try {
    corral::test::temp_dir dir("corral-bench-sqlite");
    corral::sqlite_store_options o;
    o.path = (dir.path() / "bench.db").string();
    o.synchronous_full = false;
    corral::sqlite_store normal(o);
    measure(normal, "sqlite-wal-normal", items);
    o.path = (dir.path() / "bench-full.db").string();
    o.synchronous_full = true;
    corral::sqlite_store full(o);
    measure(full, "sqlite-wal-full", items);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store: sqlite: %s\n", e.what());
  }
#if CORRAL_HAS_POSTGRES
  try {
    corral::test::postgres_server pg;
    corral::postgres_store_options o;
    o.conninfo = pg.conninfo();
    corral::postgres_store store(o);
    measure(store, "postgres", items);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store: postgres: %s\n", e.what());
  }
#else
  std::fprintf(stderr, "store: postgres: not built (CORRAL_WITH_POSTGRES=OFF)\n");
#endif
#if CORRAL_HAS_REDIS
  try {
    corral::test::redis_server redis;
    corral::redis_store_options o;
    o.port = redis.port();
    corral::redis_store store(o);
    measure(store, "redis", items);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store: redis: %s\n", e.what());
  }
#else
  std::fprintf(stderr, "store: redis: not built (CORRAL_WITH_REDIS=OFF)\n");
#endif
}

const registrar reg{"store",
                    "raw write-store throughput: 1,000 saves per transaction, SQLite, PostgreSQL "
                    "and Redis on loopback",
                    95, &run_store};

} // namespace
} // namespace bench
