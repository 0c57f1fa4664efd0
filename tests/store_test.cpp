// The three write stores against the real thing: an SQLite file, and PostgreSQL and Redis
// servers started by the fixtures in tests/support/. The tests of a store this build leaves
// out (CORRAL_WITH_POSTGRES / CORRAL_WITH_REDIS off) are compiled out.
#include "generated_ids.hpp"
#include "support/server_process.hpp"
#include <corral/store/built_stores.hpp>
#include <corral/store/sqlite_store.hpp>
#include <corral/store/store_config.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <sqlite3.h>

#if CORRAL_HAS_POSTGRES
#include "support/postgres_server.hpp"
#include <corral/store/postgres_store.hpp>
#include <libpq-fe.h>
#endif
#if CORRAL_HAS_REDIS
#include "support/redis_server.hpp"
#include <corral/store/redis_store.hpp>
#include <hiredis/hiredis.h>
#endif

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using corral::store_failure;
using corral::store_fault;
using corral::store_record;
using namespace std::string_literals;

namespace {

// The store_failure `run` throws; fails the test if it throws none.
template <class F> store_failure failure_of(F run) {
  try {
    run();
  } catch (const store_failure& e) {
    return e;
  }
  FAIL("no store_failure was thrown");
  return store_failure(store_fault::fatal, "<none>");
}

// What every store must do: round trip, atomic batch, rollback, version guard.
void check_contract(corral::write_store& store) {
  auto s = store.open();
  auto other = store.open();
  REQUIRE(s->usable());

  // Round trip outside a transaction, binary-safe.
  std::string bytes = "v\0\xff\x01"s;
  s->save({"k1", bytes, 1});
  CHECK(s->find("k1") == bytes);
  CHECK(other->find("k1") == bytes);
  CHECK_FALSE(s->find("absent").has_value());
  s->save({"empty", "", 1});
  CHECK(s->find("empty") == ""s);

  // A batch is invisible to others until its commit, then visible whole.
  s->begin();
  s->save({"b1", "x", 1});
  s->save({"b2", "y", 1});
  CHECK(s->find("b1") == "x"s); // read your own writes inside the batch
  CHECK_FALSE(other->find("b1").has_value());
  s->commit();
  CHECK(other->find("b1") == "x"s);
  CHECK(other->find("b2") == "y"s);

  // Rollback discards, and the session goes on working.
  s->begin();
  s->save({"r1", "z", 1});
  s->rollback();
  CHECK_FALSE(other->find("r1").has_value());
  CHECK_FALSE(s->find("r1").has_value());
  s->rollback(); // idempotent

  // Version guard: an older version never replaces a newer one, in or out of a batch.
  s->save({"g", "v2", 2});
  s->save({"g", "v1", 1});
  CHECK(s->find("g") == "v2"s);
  s->begin();
  s->save({"g", "v1b", 1});
  s->save({"g", "v2b", 2}); // same version: a retried batch writes nothing new either
  s->commit();
  CHECK(other->find("g") == "v2"s);
  s->save({"g", "v3", 3});
  CHECK(s->find("g") == "v3"s);
  s->save({"big", "b", (std::uint64_t{1} << 62) + 1});
  s->save({"big", "a", (std::uint64_t{1} << 62)});
  CHECK(s->find("big") == "b"s);

  // A batch of 1,000.
  s->begin();
  for (int i = 0; i < 1000; ++i)
    s->save({"many" + std::to_string(i), std::to_string(i), 1});
  s->commit();
  CHECK(other->find("many0") == "0"s);
  CHECK(other->find("many999") == "999"s);
  CHECK(s->usable());
}

std::string sqlite_file(const corral::test::temp_dir& dir) {
  return (dir.path() / "store.db").string();
}

corral::sqlite_store_options sqlite_options(const corral::test::temp_dir& dir) {
  corral::sqlite_store_options opt;
  opt.path = sqlite_file(dir);
  return opt;
}

void sqlite_exec(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

#if CORRAL_HAS_POSTGRES
void pg_exec(const std::string& conninfo, const char* sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PGresult* r = PQexec(c, sql);
  INFO(PQresultErrorMessage(r));
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  REQUIRE(ok);
}
#endif

// A batch where the middle item violates a constraint: only it fails (fatal), the rest is
// written. SQLite refuses it at save(); PostgreSQL (pipelined batches) at commit(), naming the
// key in store_items_rejected, and then at the retried batch's save(), as a writer does it.
void check_fatal_item_spares_batch(corral::write_store& store) {
  auto s = store.open();
  auto bad_save = [&] {
    auto e = failure_of([&] { s->save({"bad", "far too long", 1}); });
    CHECK(e.fault == store_fault::fatal);
    CHECK_THAT(std::string(e.what()), Contains(store.name()) && Contains("save of key \"bad\""));
  };
  s->begin();
  s->save({"ok1", "abc", 1});
  bool refused_at_save = true;
  try {
    s->save({"bad", "far too long", 1});
    refused_at_save = false;
  } catch (const store_failure& e) {
    CHECK(e.fault == store_fault::fatal);
    CHECK_THAT(std::string(e.what()), Contains(store.name()) && Contains("save of key \"bad\""));
  }
  s->save({"ok2", "def", 1});
  if (!refused_at_save) {
    try {
      s->commit();
      FAIL("commit accepted an item that violates a constraint");
    } catch (const corral::store_items_rejected& r) {
      CHECK(r.fault == store_fault::fatal);
      REQUIRE(r.items.size() == 1);
      CHECK(r.items[0].first == "bad");
      CHECK_THAT(std::string(r.what()), Contains("\"bad\""));
    }
    s->rollback();
    s->begin(); // the writer retries the batch
    s->save({"ok1", "abc", 1});
    bad_save();
    s->save({"ok2", "def", 1});
  }
  s->commit();
  CHECK(s->find("ok1") == "abc"s);
  CHECK(s->find("ok2") == "def"s);
  CHECK_FALSE(s->find("bad").has_value());
  bad_save(); // outside a batch, refused at once
  CHECK(s->usable());
}

// A store whose user upsert generates an id on insert and hands back the stored value
// "<id>|<name>": take_stored() gives each committed save's row once, and nothing for a
// rolled back batch; an update keeps the id.
void check_stored_rows(corral::write_store& store) {
  auto s = store.open();
  CHECK(s->take_stored().empty());
  s->begin();
  s->save({"a", "0|Alice", 1});
  s->save({"b", "0|Bob", 1});
  s->commit();
  auto rows = s->take_stored();
  REQUIRE(rows.size() == 2);
  std::sort(rows.begin(), rows.end(), [](auto& x, auto& y) { return x.key < y.key; });
  CHECK(rows[0].key == "a");
  CHECK(rows[1].key == "b");
  CHECK(rows[0].value == s->find("a"));
  CHECK(rows[1].value == s->find("b"));
  std::string id_a = rows[0].value.substr(0, rows[0].value.find('|'));
  std::string id_b = rows[1].value.substr(0, rows[1].value.find('|'));
  CHECK(id_a != "0");
  CHECK(id_b != "0");
  CHECK(id_a != id_b);
  CHECK(rows[0].value == id_a + "|Alice");
  CHECK(s->take_stored().empty()); // handed back once

  s->begin();
  s->save({"c", "0|Carol", 1});
  s->rollback();
  CHECK(s->take_stored().empty());
  CHECK_FALSE(s->find("c").has_value());

  s->begin();
  s->save({"a", "0|Alicia", 2});
  s->commit();
  rows = s->take_stored();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].key == "a");
  CHECK(rows[0].value == id_a + "|Alicia");
}

} // namespace

TEST_CASE("sqlite store: round trip, batch, rollback, version guard", "[store]") {
  corral::test::temp_dir dir("corral-sqlite");
  corral::sqlite_store store(sqlite_options(dir));
  CHECK(store.name() == "sqlite");
  check_contract(store);
  auto s = store.open();
  s->save({"k1", "x", 2});
  CHECK(s->take_stored().empty()); // the default upsert stores the bytes as they are
}

TEST_CASE("sqlite store: an upsert with RETURNING hands the stored row back", "[store]") {
  corral::test::temp_dir dir("corral-sqlite");
  sqlite_exec(sqlite_file(dir), corral::test::sqlite_accounts_table);
  auto opt = sqlite_options(dir);
  opt.upsert_sql = corral::test::sqlite_accounts_upsert;
  opt.find_sql = corral::test::sqlite_accounts_find;
  corral::sqlite_store store(opt);
  check_stored_rows(store);
  auto s = store.open();
  s->begin();
  s->save({"a", "0|Old", 1}); // refused by the version guard: no row comes back
  s->commit();
  CHECK(s->take_stored().empty());
  auto a = s->find("a");
  REQUIRE(a.has_value());
  CHECK_THAT(*a, EndsWith("|Alicia"));
}

TEST_CASE("sqlite store: constraint is fatal for the item, a held lock is recoverable", "[store]") {
  corral::test::temp_dir dir("corral-sqlite");
  sqlite_exec(sqlite_file(dir), "CREATE TABLE checked (key TEXT PRIMARY KEY, value BLOB NOT NULL "
                                "CHECK (length(value) <= 3), version INTEGER NOT NULL)");
  auto opt = sqlite_options(dir);
  opt.table = "checked";
  opt.busy_timeout = std::chrono::milliseconds(20);
  corral::sqlite_store store(opt);
  check_fatal_item_spares_batch(store);

  auto holder = store.open();
  holder->begin(); // holds the write lock
  auto s = store.open();
  auto e = failure_of([&] { s->begin(); });
  CHECK(e.fault == store_fault::recoverable);
  CHECK_THAT(std::string(e.what()), Contains("begin") && Contains("locked"));
  holder->rollback();
  s->begin();
  s->save({"after", "ok", 1});
  s->commit();
  CHECK(holder->find("after") == "ok"s);
}

TEST_CASE("sqlite store: user SQL", "[store]") {
  corral::test::temp_dir dir("corral-sqlite");
  sqlite_exec(sqlite_file(dir), "CREATE TABLE items (id TEXT PRIMARY KEY, body BLOB, rev INTEGER, "
                                "UNIQUE (body))");
  auto opt = sqlite_options(dir);
  opt.table = "not an identifier: unused with user SQL";
  opt.upsert_sql = "INSERT INTO items (id, body, rev) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO "
                   "UPDATE SET body = excluded.body, rev = excluded.rev WHERE excluded.rev > rev";
  opt.find_sql = "SELECT body FROM items WHERE id = ?1";
  corral::sqlite_store store(opt);
  auto s = store.open();
  s->save({"a", "one", 1});
  CHECK(s->find("a") == "one"s);
  auto e = failure_of([&] { s->save({"b", "one", 1}); }); // UNIQUE (body)
  CHECK(e.fault == store_fault::fatal);
  auto bad_name = sqlite_options(dir);
  bad_name.table = "bad;name";
  CHECK_THROWS_AS(corral::sqlite_store(bad_name), std::invalid_argument);
}

#if CORRAL_HAS_POSTGRES
TEST_CASE("postgres store: contract, constraint, restart", "[store]") {
  corral::test::postgres_server pg;
  corral::postgres_store_options opt;
  opt.conninfo = pg.conninfo();
  corral::postgres_store store(opt);
  CHECK(store.name() == "postgres");
  check_contract(store);
  {
    auto s = store.open();
    s->begin();
    s->save({"k1", "x", 2});
    s->commit();
    CHECK(s->take_stored().empty()); // the default upsert stores the bytes as they are
  }

  pg_exec(pg.conninfo(), "CREATE TABLE checked (key text PRIMARY KEY, value bytea NOT NULL "
                         "CHECK (length(value) <= 3), version bigint NOT NULL)");
  auto checked_opt = opt;
  checked_opt.table = "checked";
  corral::postgres_store checked(checked_opt);
  check_fatal_item_spares_batch(checked);

  // The server goes away mid-batch: recoverable, session unusable; a new session works once
  // it is back, and the committed data is still there.
  auto s = store.open();
  s->begin();
  s->save({"lost", "x", 1});
  pg.stop();
  auto e = failure_of([&] {
    s->save({"lost2", "y", 1});
    s->commit();
  });
  CHECK(e.fault == store_fault::recoverable);
  CHECK_FALSE(s->usable());
  s->rollback(); // never throws on a dead connection
  auto refused = failure_of([&] { store.open(); });
  CHECK(refused.fault == store_fault::recoverable);
  CHECK_THAT(std::string(refused.what()), Contains("postgres store: open failed"));
  pg.start();
  auto fresh = store.open();
  CHECK(fresh->find("b1") == "x"s);
  CHECK_FALSE(fresh->find("lost").has_value());
  fresh->save({"lost", "x", 1});
  CHECK(fresh->find("lost") == "x"s);
}

TEST_CASE("postgres store: an upsert with RETURNING hands the stored row back", "[store]") {
  corral::test::postgres_server pg;
  pg_exec(pg.conninfo(), corral::test::postgres_accounts_table);
  corral::postgres_store_options opt;
  opt.conninfo = pg.conninfo();
  opt.upsert_sql = corral::test::postgres_accounts_upsert;
  opt.find_sql = corral::test::postgres_accounts_find;
  corral::postgres_store store(opt);
  check_stored_rows(store);

  auto s = store.open();
  s->begin();
  s->save({"a", "0|Old", 1}); // refused by the version guard: no row comes back
  s->commit();
  CHECK(s->take_stored().empty());
  s->save({"lone", "0|Lone", 1}); // outside a batch: saved, and its row handed back at once
  auto lone = s->take_stored();
  REQUIRE(lone.size() == 1);
  CHECK(lone[0].key == "lone");
  CHECK(lone[0].value == s->find("lone"));
  // A batch of several pipeline chunks: every row belongs to the key that saved it.
  s->begin();
  for (int i = 0; i < 1200; ++i)
    s->save({"many" + std::to_string(i), "0|n" + std::to_string(i), 1});
  s->commit();
  auto rows = s->take_stored();
  REQUIRE(rows.size() == 1200);
  std::size_t wrong = 0;
  for (const auto& row : rows)
    wrong += row.value != s->find(row.key) || !Catch::endsWith(row.value, "|n" + row.key.substr(4));
  CHECK(wrong == 0);
}

TEST_CASE("postgres store: conninfo from the environment", "[store]") {
  corral::test::postgres_server pg;
  ::setenv("CORRAL_TEST_PG", pg.conninfo().c_str(), 1);
  corral::postgres_store_options opt;
  opt.conninfo_env = "CORRAL_TEST_PG";
  opt.table = "public.from_env";
  corral::postgres_store store(opt);
  auto s = store.open();
  s->save({"k", "v", 1});
  CHECK(s->find("k") == "v"s);
  ::unsetenv("CORRAL_TEST_PG");
}

#endif // CORRAL_HAS_POSTGRES

#if CORRAL_HAS_REDIS
TEST_CASE("redis store: contract, wrong type, restart", "[store]") {
  corral::test::redis_server redis;
  corral::redis_store_options opt;
  opt.port = redis.port();
  opt.timeout = std::chrono::milliseconds(500);
  corral::redis_store store(opt);
  CHECK(store.name() == "redis");
  check_contract(store);
  {
    auto s = store.open();
    s->begin();
    s->save({"k1", "x", 2});
    s->commit();
    CHECK(s->take_stored().empty()); // the built-in script stores the bytes as they are
  }

  // A key under the prefix that holds a string: fatal for that item alone.
  {
    redisContext* c = redisConnect("127.0.0.1", redis.port());
    freeReplyObject(redisCommand(c, "SET corral:foreign plain"));
    redisFree(c);
  }
  auto s = store.open();
  auto e = failure_of([&] { s->save({"foreign", "v", 1}); });
  CHECK(e.fault == store_fault::fatal);
  CHECK_THAT(std::string(e.what()), Contains("save of key \"foreign\"") && Contains("WRONGTYPE"));
  s->begin();
  s->save({"fine", "v", 1});
  s->save({"foreign", "v", 1});
  try {
    s->commit();
    FAIL("commit accepted an item of the wrong type");
  } catch (const corral::store_items_rejected& r) {
    CHECK(r.fault == store_fault::fatal);
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].first == "foreign");
  }
  CHECK(s->find("fine") == "v"s);
  CHECK(s->usable());
  // A writer that retries the batch meets the refusal at save(), as a fatal error of that item.
  s->begin();
  s->save({"fine", "v", 1});
  auto again = failure_of([&] { s->save({"foreign", "v", 1}); });
  CHECK(again.fault == store_fault::fatal);
  CHECK_THAT(std::string(again.what()), Contains("key \"foreign\"") && Contains("WRONGTYPE"));
  s->commit();

  // The server goes away: recoverable, unusable; back after a restart with its data.
  redis.stop();
  s->begin();
  s->save({"during", "v", 1});
  auto down = failure_of([&] { s->commit(); });
  CHECK(down.fault == store_fault::recoverable);
  CHECK_FALSE(s->usable());
  CHECK(failure_of([&] { store.open(); }).fault == store_fault::recoverable);
  redis.start();
  auto fresh = store.open();
  CHECK(fresh->find("fine") == "v"s);
  CHECK(fresh->find("b1") == "x"s);
  fresh->save({"during", "v", 1});
  CHECK(fresh->find("during") == "v"s);
}

TEST_CASE("redis store: a save script's bulk-string reply is handed back as the stored row",
          "[store]") {
  corral::test::redis_server redis;
  corral::redis_store_options opt;
  opt.port = redis.port();
  opt.timeout = std::chrono::milliseconds(500);
  opt.save_script = corral::test::redis_accounts_script;
  corral::redis_store store(opt);
  check_stored_rows(store);

  auto s = store.open();
  s->begin();
  s->save({"a", "0|Old", 1}); // refused by the script's version guard, which hands back the
  s->commit();                // value already stored
  auto rows = s->take_stored();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].value == s->find("a"));
  CHECK_THAT(rows[0].value, EndsWith("|Alicia"));
  s->save({"lone", "0|Lone", 1}); // outside a batch: its reply is handed back at once
  auto lone = s->take_stored();
  REQUIRE(lone.size() == 1);
  CHECK(lone[0].key == "lone");
  CHECK(lone[0].value == s->find("lone"));
  CHECK(lone[0].value != "0|Lone");
}

#endif // CORRAL_HAS_REDIS

namespace {

corral::config_error store_config_error(const std::string& json) {
  try {
    corral::make_store(boost::json::parse(json), "caches[0].store");
  } catch (const corral::config_error& e) {
    return e;
  }
  FAIL("no config_error for " << json);
  return corral::config_error("", "");
}

class null_store : public corral::write_store {
public:
  std::string name() const override { return "null"; }
  std::unique_ptr<corral::store_session> open() override { return nullptr; }
};

} // namespace

TEST_CASE("store config: stores by name, errors name the path", "[store]") {
  auto sqlite = corral::make_store(boost::json::parse(R"({"type": "sqlite", "path": "x.db",
      "table": "kv", "busy_timeout": "250ms", "synchronous": "normal"})"),
                                   "store");
  CHECK(sqlite->name() == "sqlite");
  CHECK(dynamic_cast<corral::sqlite_store&>(*sqlite).options().busy_timeout ==
        std::chrono::milliseconds(250));
#if CORRAL_HAS_POSTGRES
  auto pg = corral::make_store(
      boost::json::parse(R"({"type": "postgres", "conninfo": "host=h", "connect_timeout": 3000})"),
      "store");
  CHECK(dynamic_cast<corral::postgres_store&>(*pg).options().connect_timeout ==
        std::chrono::seconds(3));
#endif
#if CORRAL_HAS_REDIS
  auto redis = corral::make_store(boost::json::parse(R"({"type": "redis", "host": "127.0.0.1",
      "port": 6380, "prefix": "p:", "timeout": "2s"})"),
                                  "store");
  CHECK(dynamic_cast<corral::redis_store&>(*redis).options().port == 6380);
  CHECK(dynamic_cast<corral::redis_store&>(*redis).options().timeout == std::chrono::seconds(2));
  CHECK(dynamic_cast<corral::redis_store&>(*redis).options().save_script.empty());
  auto scripted = corral::make_store(
      boost::json::parse(R"({"type": "redis", "save_script": "return 1"})"), "store");
  CHECK(dynamic_cast<corral::redis_store&>(*scripted).options().save_script == "return 1");
#endif

  struct bad {
    const char* json;
    const char* path;
    const char* part;
  };
  std::vector<bad> cases = {
      bad{R"({"type": "sqlite", "path": "x", "bogus": 1})", "caches[0].store.bogus", "unknown key"},
      bad{R"({"type": "sqlite"})", "caches[0].store.path", "missing"},
      bad{R"({"type": "sqlite", "path": "x", "table": "a;b"})", "caches[0].store.table",
          "identifier"},
      bad{R"({"type": "sqlite", "path": "x", "synchronous": "off"})", "caches[0].store.synchronous",
          "\"full\""},
      bad{R"({"type": "mongo"})", "caches[0].store.type", "unknown store type"},
      bad{R"({"path": "x"})", "caches[0].store.type", "missing"},
      bad{R"("sqlite")", "caches[0].store", "expected a store object"},
  };
#if CORRAL_HAS_REDIS
  cases.insert(
      cases.end(),
      {
          bad{R"({"type": "redis", "port": 70000})", "caches[0].store.port", "[1, 65535]"},
          bad{R"({"type": "redis", "port": "6379"})", "caches[0].store.port", "string"},
          bad{R"({"type": "redis", "timeout": "2 sec"})", "caches[0].store.timeout", "2 sec"},
          bad{R"({"type": "redis", "timeout": 0})", "caches[0].store.timeout", "at least"},
          bad{R"({"type": "redis", "save_script": 1})", "caches[0].store.save_script",
              "expected a string"},
      });
#else // a store left out of the build is refused by name
  cases.push_back(bad{R"({"type": "redis"})", "caches[0].store.type", "no Redis store"});
#endif
#if CORRAL_HAS_POSTGRES
  cases.push_back(bad{R"({"type": "postgres", "upsert_sql": 1})", "caches[0].store.upsert_sql",
                      "expected a string"});
#else
  cases.push_back(bad{R"({"type": "postgres"})", "caches[0].store.type", "no PostgreSQL store"});
#endif
  for (const bad& b : cases) {
    INFO(b.json);
    auto e = store_config_error(b.json);
    CHECK(e.path() == b.path);
    CHECK_THAT(std::string(e.what()), Contains(b.part));
  }

  corral::register_store_type("null", [](const boost::json::object&, const std::string&) {
    return std::make_shared<null_store>();
  });
  CHECK(corral::make_store(boost::json::parse(R"({"type": "null"})"), "s")->name() == "null");
  CHECK_THROWS_AS(corral::register_store_type("sqlite", [](auto&, auto&) { return nullptr; }),
                  std::invalid_argument);
}
