// Write-behind at the message level: the lazy writer's suites, ported with its bugs fixed, on
// the test clock with a scripted store (tests/scripted_store.hpp) and a manual writer thread.
#include "scripted_store.hpp"
#include "test_fixture.hpp"
#include <corral/store/writer_actor.hpp>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

cache_config write_behind_config() {
  cache_config c;
  c.write_interval = 1s;
  c.write_retry = 100ms;
  c.write_retry_max = 400ms;
  c.prune_interval = 1s;
  c.load_timeout = duration{0};
  return c;
}

struct wb_fixture {
  explicit wb_fixture(cache_config c = write_behind_config(), bool merge_ids = false)
      : cfg(c), f(c, fixture_options{false, nullptr, 6, 10s, {}, link(merge_ids)}) {}

  std::shared_ptr<write_behind_link> link(bool merge_ids) {
    write_hooks<std::string> hooks;
    hooks.dead_letter = [this](const std::string& key, const std::string& value,
                               const std::string& err) {
      dead.push_back(key + "=" + value + ": " + err);
    };
    hooks.log = [this](write_log_level level, const std::string& text) {
      (level == write_log_level::warn ? warns : infos).push_back(text);
    };
    if (merge_ids) // values are "<id>|<data>"; the store owns the id
      hooks.merge = [](std::string& item, const std::string& stored) {
        item = stored.substr(0, stored.find('|')) + item.substr(item.find('|'));
      };
    return make_write_behind<std::string>(store, std::move(hooks));
  }

  /// Lets the write interval pass and runs the batch it starts (and any follow-up batches).
  void drain(duration wait = 1s) {
    f.advance(wait);
    run_writes();
  }

  /// Runs every queued batch on the writer thread, and the messages each one sends.
  void run_writes() {
    while (f.writes.run_one())
      f.run();
  }

  /// Sends flush() to the writer and returns the ticket's future (answered by messages).
  std::future<flush_result> flush(duration timeout = 1h) {
    auto ticket = std::make_shared<flush_ticket>();
    ticket->deadline = f.now() + timeout;
    auto answer = ticket->done.get_future();
    caf::anon_send(f.core->writer, flush_msg{ticket});
    f.run();
    return answer;
  }

  std::string cached(const std::string& key) {
    auto r = f.handle.try_get(key);
    return r ? *r : "<absent>";
  }

  std::shared_ptr<scripted_store> store = std::make_shared<scripted_store>();
  std::vector<std::string> dead, warns, infos;
  cache_config cfg;
  fixture f;
};

bool ready(std::future<flush_result>& fut) {
  return fut.wait_for(0s) == std::future_status::ready;
}

} // namespace

TEST_CASE("write-behind: store and load, a miss looks the key up in the store", "[write_behind]") {
  wb_fixture w;
  w.store->rows["old"] = {"old", "from db", 1};
  CHECK(w.f.handle.put("a", "1"));
  CHECK(w.f.handle.put("b", "2"));
  CHECK(w.cached("a") == "1");
  CHECK(w.cached("b") == "2");
  auto missing = w.f.request("missing");
  auto old = w.f.request("old");
  w.f.run();
  w.f.loads.run_all();
  w.f.run();
  REQUIRE(missing->results.size() == 1);
  CHECK(missing->results[0].code() == errc::not_found);
  REQUIRE(old->results.size() == 1);
  CHECK(old->results[0].value() == "from db");
  CHECK(w.f.handle.dirty() == 2); // an item read from the store is not dirty
}

TEST_CASE("write-behind: many puts to one key between drains make one write of the latest",
          "[write_behind]") {
  wb_fixture w;
  for (int i = 0; i < 5; ++i)
    w.f.handle.put("a", "a" + std::to_string(i));
  w.f.handle.put("b", "b0");
  CHECK(w.f.handle.dirty() == 2);
  CHECK(w.f.handle.metrics().gauges.dirty_backlog == 2);
  CHECK(w.store->calls.empty()); // nothing before the interval
  w.drain();
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->saves_of("a") == 1);
  CHECK(w.store->rows["a"].value == "a4");
  CHECK(w.store->rows["b"].value == "b0");
  CHECK(w.f.count(counter::writes) == 2);
  CHECK(w.store->calls.front() == "begin");
  CHECK(w.store->calls.back() == "commit");
}

TEST_CASE("write-behind: a full batch is written before the interval", "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.write_batch_size = 3;
  wb_fixture w{cfg};
  w.f.handle.put("a", "1");
  w.f.handle.put("b", "2");
  w.f.run();
  CHECK(w.f.writes.queued() == 0);
  w.f.handle.put("c", "3");
  w.f.run();
  REQUIRE(w.f.writes.queued() == 1);
  w.f.writes.run_all();
  w.f.run();
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->rows.size() == 3);
}

TEST_CASE("write-behind: pruning keeps dirty entries, once written the oldest go",
          "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.max_entries = 20;
  cfg.write_interval = 1h; // written only by the flush below
  wb_fixture w{cfg};
  for (int i = 0; i < 30; ++i) {
    w.f.handle.put(std::to_string(i), "v");
    w.f.advance(20ms); // one LRU tick apart: "0" is the oldest
  }
  w.f.advance(1s); // housekeeping: over the limit, but every entry is dirty
  CHECK(w.f.handle.size() == 30);
  auto done = w.flush();
  w.run_writes();
  REQUIRE(ready(done));
  CHECK(done.get().written == 30);
  w.f.advance(1s);
  CHECK(w.f.handle.size() == 20);
  for (int i = 0; i < 10; ++i)
    CHECK(w.cached(std::to_string(i)) == "<absent>");
  for (int i = 10; i < 30; ++i)
    CHECK(w.cached(std::to_string(i)) == "v");
}

TEST_CASE("write-behind: puts past max_entries evict no unwritten entry on the insert path",
          "[write_behind][bounds]") {
  auto cfg = write_behind_config();
  cfg.max_entries = 20;
  cfg.write_interval = 1h;
  wb_fixture w{cfg};
  for (int i = 0; i < 30; ++i)
    w.f.handle.put(std::to_string(i), "v");
  CHECK(w.f.handle.size() == 30); // every entry is dirty: none may go
  for (int i = 0; i < 30; ++i)
    CHECK(w.cached(std::to_string(i)) == "v");
}

TEST_CASE("write-behind: invalidate of an unwritten item keeps it", "[write_behind]") {
  wb_fixture w;
  w.store->fail_next("save", store_fault::recoverable, "save duplicate");
  w.f.handle.put("a", "1");
  w.drain();
  CHECK(w.f.handle.dirty() == 1);
  CHECK_FALSE(w.f.handle.invalidate("a"));
  CHECK(w.cached("a") == "1");
  w.drain(); // the retry writes it; now it can go
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.f.handle.invalidate("a"));
}

TEST_CASE("write-behind: a recoverable failure keeps the batch dirty, the retry writes it once",
          "[write_behind]") {
  auto step = GENERATE(as<std::string>{}, "save", "commit", "begin", "find");
  INFO("failing step: " << step);
  wb_fixture w{write_behind_config(), step == "find"}; // find runs only with a merge hook
  w.f.handle.put("a", "0|x");
  w.f.handle.put("b", "0|y");
  w.store->fail_next(step);
  w.drain();
  CHECK(w.f.handle.dirty() == 2);
  CHECK(w.store->rows.empty());
  CHECK(w.f.count(counter::write_failures) == 1);
  REQUIRE_FALSE(w.warns.empty());
  CHECK_THAT(w.warns.back(), Catch::Contains("deadlock detected"));
  w.drain(100ms); // write_retry
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->saves_of("a") == 1);
  CHECK(w.store->saves_of("b") == 1);
  CHECK(w.dead.empty());
}

TEST_CASE("write-behind: a fatal save dead-letters only that item and writes the rest",
          "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  w.f.handle.put("b", "2");
  w.f.handle.put("c", "3");
  w.store->fail_next("save", store_fault::fatal, "duplicate key", "b");
  w.drain();
  CHECK(w.f.handle.dirty() == 0);
  REQUIRE(w.dead.size() == 1);
  CHECK_THAT(w.dead[0], Catch::StartsWith("b=2: ") && Catch::Contains("duplicate key"));
  CHECK(w.store->rows.count("a") == 1);
  CHECK(w.store->rows.count("b") == 0);
  CHECK(w.store->rows.count("c") == 1);
  CHECK(w.f.count(counter::dead_letters) == 1);
  CHECK(w.f.count(counter::writes) == 2);
}

TEST_CASE("write-behind: a fatal begin or commit never drops the batch", "[write_behind]") {
  auto step = GENERATE(as<std::string>{}, "begin", "commit");
  wb_fixture w;
  w.f.handle.put("a", "1");
  w.store->fail_next(step, store_fault::fatal, "broken");
  w.drain();
  CHECK(w.f.handle.dirty() == 1);
  CHECK(w.dead.empty());
  w.drain(100ms);
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->rows["a"].value == "1");
}

TEST_CASE("write-behind: a rollback error after a failed save keeps everything dirty",
          "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  w.store->fail_next("save");
  w.store->fail_next("rollback", store_fault::recoverable, "connection lost");
  w.drain();
  CHECK(w.f.handle.dirty() == 1);
  w.drain(100ms);
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: a rollback error after a fatal save dead-letters only that item",
          "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  w.store->fail_next("save", store_fault::fatal, "duplicate key", "a");
  w.store->fail_next("rollback", store_fault::recoverable, "connection lost");
  w.drain();
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.dead.size() == 1);
}

TEST_CASE("write-behind: a store that throws anything keeps the batch", "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  w.store->fail_next("save", std::nullopt, "segfault-ish");
  w.drain();
  CHECK(w.f.handle.dirty() == 1);
  CHECK(w.dead.empty());
  w.drain(100ms);
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: failed batches back off exponentially up to write_retry_max",
          "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  for (int i = 0; i < 4; ++i)
    w.store->fail_next("begin");
  w.drain(); // t = 1 s: fails, next try at +100 ms
  auto begins = [&] { return std::count(w.store->calls.begin(), w.store->calls.end(), "begin"); };
  CHECK(begins() == 1);
  w.drain(99ms);
  CHECK(begins() == 1);
  w.drain(1ms); // +100 ms: fails, next at +200 ms
  CHECK(begins() == 2);
  w.drain(199ms);
  CHECK(begins() == 2);
  w.drain(1ms); // fails, next at +400 ms (the cap)
  CHECK(begins() == 3);
  w.drain(400ms); // fails, next at +400 ms (capped)
  CHECK(begins() == 4);
  w.drain(400ms);
  CHECK(begins() == 5);
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: a put during a batch stays dirty and is written next", "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "old");
  w.f.advance(1s); // the batch is taken (encoded "old") and queued on the writer thread
  REQUIRE(w.f.writes.queued() == 1);
  w.f.handle.put("a", "new");
  w.f.writes.run_all();
  w.f.run();
  CHECK(w.store->rows["a"].value == "old");
  CHECK(w.f.handle.dirty() == 1); // "new" was not written
  w.drain();
  CHECK(w.store->rows["a"].value == "new");
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: flush is a barrier and reports dead letters", "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.write_interval = 1h;
  cfg.write_batch_size = 2; // the flush takes two batches
  wb_fixture w{cfg};
  w.f.handle.put("a", "1");
  w.f.handle.put("b", "2");
  w.f.handle.put("c", "3");
  w.f.run();
  w.run_writes(); // the full batch the third put triggered
  w.f.handle.put("d", "4");
  w.store->fail_next("save", store_fault::fatal, "check constraint", "d");
  auto done = w.flush();
  CHECK_FALSE(ready(done));
  w.run_writes();
  REQUIRE(ready(done));
  auto r = done.get();
  CHECK(r.complete);
  CHECK(r.written == 1); // c; a and b were written before the flush was asked
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].record.key == "d");
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: flush gives up at its deadline while the store is down",
          "[write_behind]") {
  wb_fixture w;
  w.f.handle.put("a", "1");
  for (int i = 0; i < 100; ++i)
    w.store->fail_next("begin", store_fault::recoverable, "connection refused");
  auto done = w.flush(1s);
  w.run_writes();
  CHECK_FALSE(ready(done));
  w.drain(1s);
  REQUIRE(ready(done));
  auto r = done.get();
  CHECK_FALSE(r.complete);
  CHECK(r.unwritten == 1);
  CHECK_THAT(r.error, Catch::Contains("connection refused"));
  CHECK(w.f.handle.dirty() == 1);
}

TEST_CASE("write-behind: max_dirty bounds the backlog, re-putting a dirty key is allowed",
          "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.max_dirty = 2;
  cfg.max_dirty_wait = duration{0};
  wb_fixture w{cfg};
  CHECK(w.f.handle.try_put("a", "1").code == errc::none);
  CHECK(w.f.handle.try_put("b", "1").code == errc::none);
  auto refused = w.f.handle.try_put("c", "1");
  CHECK(refused.code == errc::backlog_full);
  CHECK_THAT(refused.message, Catch::Contains("max_dirty 2") && Catch::Contains("'c'"));
  CHECK(w.f.handle.try_put("a", "2").code == errc::none);
  w.f.run();
  w.run_writes(); // the refused put asked the writer to drain at once
  CHECK(w.f.handle.try_put("c", "1").code == errc::none);
}

TEST_CASE("write-behind: the merge hook takes store-owned fields before the save and into the "
          "cached value after the commit",
          "[write_behind]") {
  wb_fixture w{write_behind_config(), true};
  w.store->rows["a"] = {"a", "42|old", 1};
  w.f.handle.put("a", "0|new");
  w.drain();
  CHECK(w.store->rows["a"].value == "42|new");
  CHECK(w.cached("a") == "42|new");
  CHECK(w.f.handle.dirty() == 0);
  auto i = std::find(w.store->calls.begin(), w.store->calls.end(), "find a");
  REQUIRE(i != w.store->calls.end()); // BEGIN, find in the transaction, save, COMMIT
  CHECK(*(i - 1) == "begin");
  CHECK(*(i + 1) == "save a");
  CHECK(*(i + 2) == "commit");
}

namespace {

/// A store that numbers new rows: a committed save of a key it has never seen gets the id 7,
/// later saves keep the stored id; what it stores is what take_stored() hands back.
void generate_ids(scripted_store& store) {
  store.stored_as = [](const store_record& saved, const store_record* previous) {
    const std::string& id_from = previous ? previous->value : std::string{"7|"};
    return id_from.substr(0, id_from.find('|')) + saved.value.substr(saved.value.find('|'));
  };
}

/// The cached entry's version (0 when absent).
std::uint64_t version_of(fixture& f, const std::string& key) {
  detail::epoch_guard guard;
  const entry* e = f.core->table.find_exact(key);
  return e ? e->version : 0;
}

} // namespace

TEST_CASE("write-behind: a field the store generates at commit reaches the cached value without a "
          "second write",
          "[write_behind]") {
  wb_fixture w{write_behind_config(), true};
  generate_ids(*w.store);
  w.f.handle.put("a", "0|new");
  auto version = version_of(w.f, "a");
  w.drain();
  CHECK(w.store->rows["a"].value == "7|new");
  CHECK(w.cached("a") == "7|new");
  CHECK(version_of(w.f, "a") == version); // the merge keeps the entry's version
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->saves_of("a") == 1);
  CHECK(w.store->stored_taken == 1); // once, after the commit
  w.drain(); // nothing left to write: the merge did not make the entry dirty
  CHECK(w.store->saves_of("a") == 1);
}

TEST_CASE("write-behind: a put during the batch keeps its value, version and dirty mark, and "
          "gets the generated field",
          "[write_behind]") {
  wb_fixture w{write_behind_config(), true};
  generate_ids(*w.store);
  w.f.handle.put("a", "0|one");
  w.f.advance(1s); // the writer takes "0|one" into a batch
  REQUIRE(w.f.writes.queued() == 1);
  w.f.handle.put("a", "0|two"); // while the batch is on the writer thread
  auto version = version_of(w.f, "a");
  w.run_writes();
  CHECK(w.store->rows["a"].value == "7|one");
  CHECK(w.cached("a") == "7|two"); // the newer value, with the id of the committed row
  CHECK(version_of(w.f, "a") == version);
  CHECK(w.f.handle.dirty() == 1); // "two" is not written yet
  w.drain();
  CHECK(w.store->rows["a"].value == "7|two");
  CHECK(w.cached("a") == "7|two");
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->saves_of("a") == 2);
}

TEST_CASE("write-behind: without a merge hook the rows a store hands back leave the cache alone",
          "[write_behind]") {
  wb_fixture w;
  generate_ids(*w.store);
  w.f.handle.put("a", "0|new");
  w.drain();
  CHECK(w.store->rows["a"].value == "7|new");
  CHECK(w.cached("a") == "0|new");
  CHECK(w.f.handle.dirty() == 0);
}

TEST_CASE("write-behind: a failure to take the stored rows after a commit keeps the batch written",
          "[write_behind]") {
  wb_fixture w{write_behind_config(), true};
  generate_ids(*w.store);
  w.store->fail_next("take_stored", store_fault::recoverable, "connection reset");
  w.f.handle.put("a", "0|new");
  w.drain();
  CHECK(w.store->rows["a"].value == "7|new");
  CHECK(w.cached("a") == "0|new"); // only the cached copy lacks the id
  CHECK(w.f.handle.dirty() == 0);
  CHECK(w.store->saves_of("a") == 1);
  CHECK(w.f.count(counter::writes) == 1);
  CHECK(w.f.count(counter::write_failures) == 0);
  REQUIRE_FALSE(w.warns.empty());
  CHECK_THAT(w.warns.back(), Catch::Contains("stored rows could not be taken") &&
                                 Catch::Contains("connection reset"));
}

TEST_CASE("write-behind: a load never replaces an unwritten value", "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.refresh_after = 10ms;
  wb_fixture w{cfg};
  w.store->rows["a"] = {"a", "stale in db", 1};
  w.f.handle.put("a", "fresh in memory");
  w.f.advance(20ms);
  auto r = w.f.request("a"); // due for a refresh: one reload from the store starts
  w.f.run();
  w.f.loads.run_all();
  w.f.run();
  CHECK(r->results.at(0).value() == "fresh in memory");
  CHECK(std::count(w.store->calls.begin(), w.store->calls.end(), "find a") == 1); // it ran
  CHECK(w.cached("a") == "fresh in memory");
  CHECK(w.f.handle.dirty() == 1);
}

TEST_CASE("write-behind: a load that read the store before a write cannot undo it",
          "[write_behind]") {
  auto cfg = write_behind_config();
  cfg.refresh_after = 10ms;
  wb_fixture w{cfg};
  w.store->rows["a"] = {"a", "old", 1};
  w.f.handle.put("a", "new");
  w.f.advance(20ms);
  CHECK(w.cached("a") == "new"); // due: a reload of "a" starts (queued on the loader pool)
  w.f.run();
  REQUIRE(w.f.loads.queued() == 1);
  w.drain(); // "new" is written and the entry becomes clean
  CHECK(w.store->rows["a"].value == "new");
  CHECK(w.f.handle.dirty() == 0);
  // The reload read the store before that commit: it finds the old row.
  w.store->rows["a"].value = "old";
  w.f.loads.run_all();
  w.f.run();
  CHECK(std::count(w.store->calls.begin(), w.store->calls.end(), "find a") == 1);
  CHECK(w.cached("a") == "new");
}
