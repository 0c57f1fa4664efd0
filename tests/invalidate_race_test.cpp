// invalidate() against loads and refreshes that started before it: once invalidate(k) returns,
// nothing that started earlier may make k visible again, whenever the supervisor handles its
// bookkeeping and whether or not a key actor runs the load (refreshes run straight on the pool).
#include <future>
#include <map>
#include <thread>

#include "scripted_store.hpp"
#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

cache_config refresh_config() {
  cache_config c;
  c.ttl = 10s;
  c.refresh_after = 150ms;
  c.load_timeout = duration::zero();
  c.prune_interval = 1h;
  c.idle_timeout = 1h;
  c.write_interval = 1s;
  return c;
}

} // namespace

TEST_CASE("an invalidate made while a refresh runs keeps it out even after the supervisor's turn",
          "[invalidate][race][refresh]") {
  fixture f{refresh_config()};
  count_versions(f);
  f.load("k");
  f.advance(200ms);
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"}); // starts a direct refresh
  REQUIRE(f.loads.queued() == 1);
  CHECK(f.handle.invalidate("k"));
  f.run(); // every message the invalidate sent is handled before the refresh finishes
  REQUIRE(f.loads.run_one());
  f.run();
  CHECK_FALSE(f.handle.try_get("k").has_value());
}

TEST_CASE("a stale-while-revalidate reload started before an invalidate cannot store",
          "[invalidate][race][refresh]") {
  cache_config c = refresh_config();
  c.refresh_after = duration::zero();
  c.ttl = 100ms;
  c.stale_while_revalidate = 1s;
  fixture f{c};
  count_versions(f);
  f.load("k");
  f.advance(150ms);
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"}); // stale: one reload
  REQUIRE(f.loads.queued() == 1);
  f.handle.invalidate("k");
  f.run();
  REQUIRE(f.loads.run_one());
  f.run();
  CHECK_FALSE(f.handle.try_get("k").has_value());
}

TEST_CASE("an older refresh cannot store the value a put replaced once pruning evicts the put",
          "[invalidate][race][refresh]") {
  cache_config c = refresh_config();
  c.max_entries = 1;
  c.prune_interval = 1s;
  fixture f{c};
  auto backend = std::make_shared<std::map<std::string, std::string>>();
  (*backend)["k"] = "old";
  (*backend)["j"] = "j";
  auto gate = std::make_shared<park_gate>();
  auto hold = std::make_shared<bool>(false);
  f.loader->script = [backend, gate, hold](const std::string& key) {
    std::optional<std::string> read = backend->at(key);
    if (key == "k" && *hold) { // the refresh of k parks after reading "old"
      *hold = false;
      gate->park();
    }
    return read;
  };
  f.load("k");
  f.advance(200ms);
  *hold = true;
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"old"}); // a direct refresh
  REQUIRE(f.loads.queued() == 1);
  std::thread worker([&f] { f.loads.run_one(); });
  REQUIRE(gate->arrived_within());
  (*backend)["k"] = "new";           // the application updates its database...
  REQUIRE(f.handle.put("k", "new")); // ...and the cache
  f.advance(100ms);
  f.load("j"); // read later than k: pruning to max_entries 1 evicts k
  CHECK(f.handle.try_get("j").has_value());
  f.advance(700ms);
  REQUIRE(f.count(counter::evictions) >= 1);
  gate->release();
  worker.join();
  f.run();
  CHECK(f.handle.try_get("k") != std::optional<std::string>{"old"});
}

namespace {

/// A write-behind cache whose loader reads the committed store rows. `k` was loaded ("old"); its
/// background refresh has read the store ("old") and is held before it publishes, on a second
/// thread, while a put of "new" is written and its entry cleaned.
struct held_refresh {
  held_refresh()
      : f(refresh_config(), fixture_options{true, nullptr, 6, 10s, {}, make_write_behind(store)}) {
    store->rows["k"] = store_record{"k", "old", 1};
    auto rows = store; // read before parking: the writer commits while the loader waits
    auto hold = std::make_shared<bool>(false);
    f.loader->script = [rows, gate = gate, hold](const std::string& key) {
      std::optional<std::string> read = rows->rows.at(key).value;
      if (*hold) {
        *hold = false;
        gate->park();
      }
      return read;
    };
    f.load("k"); // "old", clean
    f.advance(200ms);
    *hold = true;
    CHECK(f.handle.try_get("k") == std::optional<std::string>{"old"}); // due: one refresh
    REQUIRE(f.loads.queued() == 1);
    worker = std::thread([this] { f.loads.run_one(); });
    REQUIRE(gate->arrived_within());   // the refresh holds "old", read before the commit below
    REQUIRE(f.handle.put("k", "new")); // dirty
    f.advance(1s);                     // the write interval: "new" is written, the entry cleaned
    while (f.writes.run_one())
      f.run();
    REQUIRE(store->rows.at("k").value == "new");
    REQUIRE(f.handle.dirty() == 0);
  }
  /// Lets the refresh publish what it read.
  void finish() {
    gate->release();
    worker.join();
    f.run();
  }
  ~held_refresh() {
    if (worker.joinable())
      finish();
  }

  std::shared_ptr<scripted_store> store = std::make_shared<scripted_store>();
  fixture f;
  std::shared_ptr<park_gate> gate = std::make_shared<park_gate>();
  std::thread worker;
};

} // namespace

TEST_CASE("a refresh that read the store before a commit cannot repopulate an invalidated entry",
          "[invalidate][race][write_behind]") {
  held_refresh h;
  CHECK(h.f.handle.invalidate("k"));
  h.f.run();
  h.finish();
  CHECK_FALSE(h.f.handle.try_get("k").has_value()); // never the older "old"
}

TEST_CASE("a refresh that read the store before a commit cannot repopulate an evicted entry",
          "[invalidate][race][write_behind]") {
  held_refresh h;
  CHECK(h.f.core->table.evict("k")); // what pruning toward max_entries does
  h.f.run();
  h.finish();
  CHECK_FALSE(h.f.handle.try_get("k").has_value());
}
