// Refresh on access (refresh_after, Caffeine's refreshAfterWrite), message by message.
#include <cmath>
#include <stdexcept>

#include "scripted_store.hpp"
#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

namespace {

cache_config refresh_config() {
  cache_config c;
  c.ttl = std::chrono::seconds(10);
  c.refresh_after = ms(150);
  c.load_timeout = duration::zero();
  c.prune_interval = std::chrono::hours(1);
  c.idle_timeout = std::chrono::hours(1);
  return c;
}

} // namespace

TEST_CASE("refresh_after reloads once on the first read past the threshold, none before",
          "[refresh]") {
  fixture f{refresh_config()};
  count_versions(f);
  f.load("k");
  f.advance(ms(149));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  f.run();
  CHECK(f.loads.queued() == 0); // not due yet
  f.advance(ms(1));
  // Due: both readers get the current value at once; only one reload starts.
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  CHECK(f.handle.get_async("k").get().value() == "v1");
  f.run();
  CHECK(f.loads.queued() == 1);
  f.finish_one_load();
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v2"});
  CHECK(f.count(counter::refreshes) == 1);
  // The new value is due again 150 ms after it was loaded, not before.
  f.advance(ms(100));
  CHECK(f.handle.try_get("k").has_value());
  f.run();
  CHECK(f.loads.queued() == 0);
}

TEST_CASE("entries nobody reads are not refreshed and expire at ttl", "[refresh]") {
  fixture f{refresh_config()};
  f.load("k");
  f.advance(std::chrono::seconds(10));
  f.run();
  CHECK(f.loads.queued() == 0);
  CHECK_FALSE(f.handle.try_get("k").has_value());
}

TEST_CASE("a put made while a refresh runs wins over the refresh", "[refresh]") {
  fixture f{refresh_config()};
  count_versions(f);
  f.load("k");
  f.advance(ms(200));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"}); // starts the refresh
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.handle.put("k", "from-put");
  f.finish_one_load(); // the refresh's v2 is refused: the put is newer
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"from-put"});
}

TEST_CASE("an invalidate made while a refresh runs keeps the refresh's value out", "[refresh]") {
  fixture f{refresh_config()};
  count_versions(f);
  f.load("k");
  f.advance(ms(200));
  f.handle.try_get("k");
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.handle.invalidate("k");
  f.finish_one_load();
  CHECK_FALSE(f.handle.try_get("k").has_value());
}

TEST_CASE("a failed refresh keeps the current value and backs off", "[refresh]") {
  auto cfg = refresh_config();
  cfg.error_backoff = ms(500);
  fixture f{cfg};
  auto fail_flag = f.failing_loader("good", false);
  auto& fail = *fail_flag;
  f.load("k");
  f.advance(ms(200));
  fail = true;
  f.handle.try_get("k");
  f.run();
  f.finish_one_load(); // the refresh fails
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"good"});
  auto through_actor = f.request("k"); // due, but backing off: no new load
  f.run();
  REQUIRE(through_actor->results.size() == 1);
  CHECK(through_actor->results[0].value() == "good");
  CHECK(f.loads.queued() == 0);
}

TEST_CASE("a refresh refused because the entry was unwritten does not stop later refreshes",
          "[refresh][write_behind]") {
  auto store = std::make_shared<scripted_store>();
  store->rows["k"] = store_record{"k", "old", 1};
  cache_config c = refresh_config();
  c.write_interval = std::chrono::seconds(1);
  fixture f{
      c, fixture_options{true, nullptr, 6, std::chrono::seconds(10), {}, make_write_behind(store)}};
  auto rows = store;
  f.loader->script = [rows](const std::string& key) {
    return std::optional<std::string>{rows->rows.at(key).value};
  };
  REQUIRE(f.handle.put("k", "new"));
  f.advance(ms(200)); // due while unwritten: the reload reads "old" and is refused
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"new"});
  REQUIRE(f.loads.run_one());
  f.run();
  f.advance(std::chrono::seconds(1)); // written and cleaned
  while (f.writes.run_one())
    f.run();
  REQUIRE(f.handle.dirty() == 0);
  rows->rows["k"].value = "changed elsewhere";
  f.advance(ms(500));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"new"}); // due: one reload
  REQUIRE(f.loads.run_one());
  f.run();
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"changed elsewhere"});
}

TEST_CASE("XFetch's decision matches its formula for fixed random draws", "[refresh][xfetch]") {
  using std::chrono::milliseconds;
  const time_point expiry{std::chrono::seconds(100)};
  const milliseconds delta{100};
  const double u = std::exp(-1.0); // -ln(u) = 1: a head start of exactly delta * beta
  CHECK(xfetch_due(expiry - milliseconds(100), expiry, delta, 1.0, u));
  CHECK_FALSE(xfetch_due(expiry - milliseconds(101), expiry, delta, 1.0, u));
  CHECK(xfetch_due(expiry - milliseconds(200), expiry, delta, 2.0, u)); // beta doubles it
  CHECK_FALSE(xfetch_due(expiry - milliseconds(201), expiry, delta, 2.0, u));
  CHECK_FALSE(xfetch_due(expiry - milliseconds(1), expiry, delta, 1.0, 1.0)); // -ln(1) = 0
  CHECK(xfetch_due(expiry, expiry, delta, 1.0, 1.0));                         // expired
  const double u2 = std::exp(-3.0);
  CHECK(xfetch_due(expiry - milliseconds(300), expiry, delta, 1.0, u2));
  CHECK_FALSE(xfetch_due(expiry - milliseconds(301), expiry, delta, 1.0, u2));
  // The hit path only draws close to expiry, where the probability is not negligible.
  CHECK(xfetch_window(expiry - milliseconds(1999), expiry, delta, 1.0));
  CHECK_FALSE(xfetch_window(expiry - milliseconds(2000), expiry, delta, 1.0));
  CHECK_FALSE(xfetch_window(expiry - milliseconds(1), expiry, delta, 0.0));
}

TEST_CASE("XFetch refreshes early, once, when the draw says so", "[refresh][xfetch]") {
  auto cfg = refresh_config();
  cfg.refresh_after = duration::zero();
  cfg.ttl = std::chrono::seconds(1);
  cfg.xfetch_beta = 1.0;
  fixture f{cfg};
  f.core->xfetch_random = [] { return std::exp(-1.0); }; // head start = the load's duration
  auto n = std::make_shared<int>(0);
  f.loader->script = [&f, n](const std::string&) {
    f.spend(ms(100)); // the load takes 100 ms of test time: delta
    return std::optional<std::string>{"v" + std::to_string(++*n)};
  };
  f.request("k");
  f.run();
  f.finish_one_load(); // loaded at t=100ms, expires at t=1100ms
  f.advance(ms(899));  // 101 ms before expiry: no early refresh yet
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  f.run();
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1)); // 100 ms before expiry: due
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  f.run();
  CHECK(f.loads.queued() == 1); // one refresh for both readers
  f.finish_one_load();
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v2"});
}

TEST_CASE("a reload gets the current value for a conditional fetch, a first load gets none",
          "[refresh]") {
  fixture f{refresh_config()};
  count_versions(f);
  f.load("k");
  f.advance(ms(150));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"}); // due: one reload starts
  f.run();
  f.finish_one_load();
  f.handle.put("k", "put by hand");
  f.advance(ms(150));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"put by hand"});
  f.run();
  f.finish_one_load();
  CHECK(f.loader->previous == std::vector<std::string>{"<none>", "v1", "put by hand"});
}

TEST_CASE("ttl_jitter shortens loaded and refreshed entries alike", "[refresh]") {
  auto cfg = refresh_config(); // ttl 10 s, refresh_after 150 ms
  cfg.ttl_jitter = 0.5;
  fixture f{cfg};
  f.core->xfetch_random = [] { return 0.5; }; // the cut is 0.5 × (1 − 0.5): 2.5 s of 10 s
  auto expiry = [&] {
    detail::epoch_guard guard;
    const entry* e = f.core->table.find_exact("k");
    REQUIRE(e != nullptr);
    return e->expires_at;
  };
  auto loaded_at = f.now();
  f.load("k"); // through the key actor
  CHECK(expiry() == loaded_at + std::chrono::milliseconds(7500));
  f.advance(ms(150));
  CHECK(f.handle.try_get("k").has_value()); // due: the direct refresh path reloads it
  f.run();
  auto refreshed_at = f.now();
  f.finish_one_load();
  CHECK(f.count(counter::refreshes) == 1);
  CHECK(expiry() == refreshed_at + std::chrono::milliseconds(7500));
}
