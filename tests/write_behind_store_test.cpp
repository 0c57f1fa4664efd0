// Write-behind against real stores: a SQLite file, and PostgreSQL and Redis servers started by
// the fixtures on loopback. The fault-injection cases stop the server in the middle of a stream
// of puts and start it again: after flush() every key must hold its latest value. The cases of
// a store this build leaves out (CORRAL_WITH_POSTGRES / CORRAL_WITH_REDIS off) are compiled out.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <thread>

#include <sqlite3.h>

#include "generated_ids.hpp"
#include "support/server_process.hpp"
#include <corral/runtime/runtime.hpp>
#include <corral/store/built_stores.hpp>
#include <corral/store/sqlite_store.hpp>
#if CORRAL_HAS_POSTGRES
#include "support/postgres_server.hpp"
#include <corral/store/postgres_store.hpp>
#include <libpq-fe.h>
#endif
#if CORRAL_HAS_REDIS
#include "support/redis_server.hpp"
#include <corral/store/redis_store.hpp>
#endif

/// A value with a field the database owns: `id` is generated on insert. Its codec bytes are
/// "<id>|<name>", a text the tests' SQL and Lua can take apart and put together.
struct account {
  std::int64_t id = 0;
  std::string name;
};

template <> struct corral::codec<account> {
  static void encode(const account& a, std::string& out) {
    out = std::to_string(a.id) + "|" + a.name;
  }
  static account decode(std::string_view bytes) {
    auto bar = bytes.find('|');
    if (bar == std::string_view::npos)
      throw std::invalid_argument("not an account: " + std::string(bytes));
    return {std::stoll(std::string(bytes.substr(0, bar))), std::string(bytes.substr(bar + 1))};
  }
};

using namespace corral;
using namespace std::chrono_literals;

namespace {

cache_config fast_writer(const std::string& name) {
  cache_config c;
  c.name = name;
  c.write_interval = 20ms;
  c.write_batch_size = 500;
  c.write_retry = 20ms;
  c.write_retry_max = 200ms;
  c.max_dirty = 20000;
  c.max_dirty_wait = 60s;
  return c;
}

runtime_config small_runtime() {
  runtime_config cfg;
  cfg.scheduler_threads = 2;
  cfg.loader_threads = 2;
  return cfg;
}

/// The lazy writer's CopyKeyDataFrom for accounts: the id is the store's.
write_hooks<account> account_hooks() {
  write_hooks<account> hooks;
  hooks.merge = [](account& item, const account& stored) { item.id = stored.id; };
  return hooks;
}

/// Puts two new accounts, flushes once, and checks that the cached items carry the ids the
/// store generated (read back from the store itself), with no second write.
void generated_ids_reach_the_cache(const std::shared_ptr<write_store>& store) {
  runtime rt{small_runtime()};
  auto cfg = fast_writer("accounts");
  cfg.write_interval = 1h; // only flush() writes: exactly one batch
  auto cache = rt.make_write_behind_cache<account>(cfg, store, account_hooks());
  REQUIRE(cache.put("alice", account{0, "Alice"}));
  REQUIRE(cache.put("bob", account{0, "Bob"}));
  auto r = cache.flush(30s);
  INFO(r.error);
  REQUIRE(r.complete);
  CHECK(r.written == 2);
  CHECK(r.failed.empty());
  CHECK(cache.dirty() == 0);
  CHECK(cache.counters()[static_cast<std::size_t>(counter::writes)] == 2); // one write each
  auto session = store->open();
  auto in_store = [&](const std::string& key) {
    auto bytes = session->find(key);
    REQUIRE(bytes.has_value());
    return codec<account>::decode(*bytes);
  };
  auto alice = in_store("alice"), bob = in_store("bob");
  CHECK(alice.id > 0);
  CHECK(bob.id > 0);
  CHECK(alice.id != bob.id);
  auto cached_alice = cache.try_get("alice");
  auto cached_bob = cache.try_get("bob");
  REQUIRE(cached_alice.has_value());
  REQUIRE(cached_bob.has_value());
  CHECK(cached_alice->id == alice.id);
  CHECK(cached_alice->name == "Alice");
  CHECK(cached_bob->id == bob.id);
  CHECK(cached_bob->name == "Bob");
}

/// Keys whose stored value is not `want(key)`, read through a fresh session.
template <class Want>
std::size_t mismatches(write_store& store, std::size_t keys, Want want, std::string& example) {
  auto session = store.open();
  std::size_t wrong = 0;
  for (std::size_t k = 0; k < keys; ++k) {
    auto key = "key" + std::to_string(k);
    auto got = session->find(key);
    if (got != want(k)) {
      if (wrong++ == 0)
        example = key + ": " + got.value_or("<absent>");
    }
  }
  return wrong;
}

/// 100,000 puts over 10,000 keys; the server is stopped after 30,000 and started again after
/// 70,000. Nothing may be lost and no older value may overwrite a newer one.
template <class Server>
void survive_restart(Server& server, const std::shared_ptr<write_store>& store) {
  constexpr std::size_t keys = 10000;
  std::vector<std::optional<std::string>> latest(keys);
  {
    runtime rt{small_runtime()};
    auto cache = rt.make_write_behind_cache<std::string>(fast_writer("restart"), store);
    for (std::size_t i = 0; i < 100000; ++i) {
      auto k = (i * 7919) % keys; // every key, many times, interleaved
      latest[k] = "v" + std::to_string(i);
      REQUIRE(cache.try_put("key" + std::to_string(k), *latest[k]).code == errc::none);
      if (i == 30000)
        server.stop();
      if (i == 70000)
        server.start();
    }
    auto r = cache.flush(120s);
    INFO(r.error);
    REQUIRE(r.complete);
    CHECK(r.failed.empty());
    CHECK(cache.dirty() == 0);
    // The outage was seen: batches failed and were retried, not dropped.
    CHECK(cache.counters()[static_cast<std::size_t>(counter::write_failures)] > 0);
    CHECK(cache.counters()[static_cast<std::size_t>(counter::dead_letters)] == 0);
  }
  std::string example;
  CHECK(mismatches(
            *store, keys, [&](std::size_t k) { return latest[k]; }, example) == 0);
  INFO(example);
}

} // namespace

TEST_CASE("write-behind to SQLite: puts reach the file, a miss finds them again",
          "[write_behind][store][runtime]") {
  test::temp_dir dir("corral-wb-sqlite");
  sqlite_store_options opt;
  opt.path = (dir.path() / "corral.db").string();
  auto store = std::make_shared<sqlite_store>(opt);
  {
    runtime rt{small_runtime()};
    auto cache = rt.make_write_behind_cache<std::string>(fast_writer("users"), store);
    for (int k = 0; k < 1000; ++k)
      REQUIRE(cache.put("key" + std::to_string(k), "v" + std::to_string(k)));
    auto r = cache.flush(30s);
    INFO(r.error << "; unwritten " << r.unwritten << ", written " << r.written);
    REQUIRE(r.complete);
    CHECK(r.written == 1000);
  }
  std::string example;
  CHECK(mismatches(
            *store, 1000, [](std::size_t k) { return "v" + std::to_string(k); }, example) == 0);
  // A new runtime starts empty; misses look the keys up in the file.
  runtime rt{small_runtime()};
  auto cache = rt.make_write_behind_cache<std::string>(fast_writer("users"), store);
  CHECK(cache.get("key7").value() == "v7");
  CHECK(cache.get("nobody").code() == errc::not_found);
  CHECK(cache.dirty() == 0);
}

TEST_CASE("write-behind to SQLite: an AUTOINCREMENT id returned by the upsert reaches the cached "
          "item after one flush",
          "[write_behind][store][runtime]") {
  test::temp_dir dir("corral-wb-ids");
  sqlite_store_options opt;
  opt.path = (dir.path() / "accounts.db").string();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opt.path.c_str(), &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, test::sqlite_accounts_table, nullptr, nullptr, nullptr);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
  opt.upsert_sql = test::sqlite_accounts_upsert;
  opt.find_sql = test::sqlite_accounts_find;
  generated_ids_reach_the_cache(std::make_shared<sqlite_store>(opt));
}

TEST_CASE("write-behind: shutdown writes the dirty backlog", "[write_behind][store][runtime]") {
  test::temp_dir dir("corral-wb-shutdown");
  sqlite_store_options opt;
  opt.path = (dir.path() / "corral.db").string();
  auto store = std::make_shared<sqlite_store>(opt);
  auto cfg = fast_writer("orders");
  cfg.write_interval = 1h; // only shutdown writes
  cfg.write_batch_size = 100000;
  {
    runtime rt{small_runtime()};
    auto cache = rt.make_write_behind_cache<std::string>(cfg, store);
    for (int k = 0; k < 5000; ++k)
      REQUIRE(cache.put("key" + std::to_string(k), "v" + std::to_string(k)));
    CHECK(cache.dirty() == 5000);
    rt.shutdown();
    auto flushes = rt.shutdown_flushes();
    REQUIRE(flushes.size() == 1);
    CHECK(flushes[0].first == "orders");
    CHECK(flushes[0].second.complete);
    CHECK(flushes[0].second.written == 5000);
    CHECK_FALSE(cache.put("late", "x")); // refused once shut down
  }
  std::string example;
  CHECK(mismatches(
            *store, 5000, [](std::size_t k) { return "v" + std::to_string(k); }, example) == 0);
}

#if CORRAL_HAS_REDIS // a server the test can stop
TEST_CASE("write-behind: shutdown reports what it could not write",
          "[write_behind][store][runtime]") {
  test::redis_server redis;
  redis_store_options opt;
  opt.port = redis.port();
  opt.timeout = 200ms;
  auto store = std::make_shared<redis_store>(opt);
  auto cfg = fast_writer("down");
  cfg.write_interval = 1h;
  cfg.write_batch_size = 100000;
  cfg.flush_timeout = 500ms;
  std::vector<std::string> warnings;
  write_hooks<std::string> hooks;
  hooks.log = [&](write_log_level level, const std::string& text) {
    if (level == write_log_level::warn)
      warnings.push_back(text);
  };
  runtime rt{small_runtime()};
  auto cache = rt.make_write_behind_cache<std::string>(cfg, store, hooks);
  for (int k = 0; k < 10; ++k)
    REQUIRE(cache.put("key" + std::to_string(k), "v"));
  CHECK(cache.dirty() == 10);
  redis.stop();
  rt.shutdown();
  auto flushes = rt.shutdown_flushes();
  REQUIRE(flushes.size() == 1);
  CHECK_FALSE(flushes[0].second.complete);
  CHECK(flushes[0].second.unwritten == 10);
  REQUIRE_FALSE(warnings.empty());
  CHECK_THAT(warnings.back(), Catch::Contains("10 entries of cache 'down' could not be written"));
}
#endif

TEST_CASE("write-behind: every put accepted before shutdown is written by it",
          "[write_behind][store][runtime]") {
  test::temp_dir dir("corral-wb-race");
  sqlite_store_options opt;
  opt.path = (dir.path() / "corral.db").string();
  auto store = std::make_shared<sqlite_store>(opt);
  auto cfg = fast_writer("race");
  cfg.max_dirty = 10; // puts keep waiting for room while shutdown starts
  cfg.max_dirty_wait = 10s;
  cfg.write_batch_size = 5;
  std::vector<std::vector<std::string>> accepted(4);
  {
    runtime rt{small_runtime()};
    auto cache = rt.make_write_behind_cache<std::string>(cfg, store);
    std::vector<std::thread> writers;
    std::atomic<int> total{0};
    for (std::size_t t = 0; t < accepted.size(); ++t)
      writers.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          auto key = "t" + std::to_string(t) + "-" + std::to_string(i);
          if (!cache.put(key, "v"))
            return; // refused: shutting down
          accepted[t].push_back(key);
          ++total;
        }
      });
    while (total.load() < 200)
      std::this_thread::yield();
    rt.shutdown();
    for (auto& w : writers)
      w.join();
    auto flushes = rt.shutdown_flushes();
    REQUIRE(flushes.size() == 1);
    CHECK(flushes[0].second.complete);
  }
  auto session = store->open();
  std::size_t missing = 0;
  for (const auto& keys : accepted)
    for (const auto& key : keys)
      missing += !session->find(key).has_value();
  CHECK(missing == 0);
}

#if CORRAL_HAS_POSTGRES
TEST_CASE("write-behind to PostgreSQL survives a server restart during the drain",
          "[write_behind][store][runtime][postgres]") {
  test::postgres_server pg;
  postgres_store_options opt;
  opt.conninfo = pg.conninfo();
  survive_restart(pg, std::make_shared<postgres_store>(opt));
}

TEST_CASE("write-behind to PostgreSQL: an identity id returned by the upsert reaches the cached "
          "item after one flush",
          "[write_behind][store][runtime][postgres]") {
  test::postgres_server pg;
  {
    PGconn* c = PQconnectdb(pg.conninfo().c_str());
    PGresult* res = PQexec(c, test::postgres_accounts_table);
    INFO(PQresultErrorMessage(res));
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    PQfinish(c);
    REQUIRE(ok);
  }
  postgres_store_options opt;
  opt.conninfo = pg.conninfo();
  opt.upsert_sql = test::postgres_accounts_upsert;
  opt.find_sql = test::postgres_accounts_find;
  generated_ids_reach_the_cache(std::make_shared<postgres_store>(opt));
}

#endif // CORRAL_HAS_POSTGRES

#if CORRAL_HAS_REDIS
// Redis generates nothing by itself; a save script can (here an id from INCR for a new key).
TEST_CASE("write-behind to Redis: an id a save script generates reaches the cached item after "
          "one flush",
          "[write_behind][store][runtime][redis]") {
  test::redis_server redis;
  redis_store_options opt;
  opt.port = redis.port();
  opt.timeout = 500ms;
  opt.save_script = test::redis_accounts_script;
  generated_ids_reach_the_cache(std::make_shared<redis_store>(opt));
}

TEST_CASE("write-behind to Redis survives a server restart during the drain",
          "[write_behind][store][runtime][redis]") {
  test::redis_server redis;
  redis_store_options opt;
  opt.port = redis.port();
  opt.timeout = 500ms;
  survive_restart(redis, std::make_shared<redis_store>(opt));
}
#endif // CORRAL_HAS_REDIS
