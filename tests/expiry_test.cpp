// Proactive expiry (runtime/engine/expiry_sweep.hpp): expired entries are reclaimed without a read,
// a bounded stretch of the table per housekeeping pass, never a dirty entry and never a value still
// inside its stale-serving window; a reload in flight still stores its value.
#include "test_fixture.hpp"
#include <corral/runtime/engine/expiry_sweep.hpp>

using namespace corral;
using namespace corral::test;

namespace {

cache_config expiring_config(duration ttl) {
  auto cfg = housekeeping_config(); // a housekeeping pass every 20 ms of test time
  cfg.ttl = ttl;
  return cfg;
}

/// An unpublished string entry expiring at `expires_at`.
std::unique_ptr<entry> string_entry(time_point expires_at, bool dirty = false) {
  auto e = std::make_unique<value_entry<std::string>>("v");
  e->expires_at = expires_at;
  e->dirty = dirty;
  return e;
}

/// Runs `n` housekeeping passes (the test scheduler fires one timer per advance, with the clock
/// already moved: a pass sees the time at the end of its step).
void passes(fixture& f, int n) {
  for (int i = 0; i < n; ++i)
    f.advance(ms(20));
}

} // namespace

TEST_CASE("200,000 expired puts are reclaimed without a read", "[expiry]") {
  fixture f{expiring_config(ms(100))};
  for (int i = 0; i < 200000; ++i)
    f.handle.put("session-" + std::to_string(i), "v");
  REQUIRE(f.handle.size() == 200000);
  passes(f, 4); // four passes before the ttl (at 80 ms): nothing is reclaimed
  CHECK(f.handle.size() == 200000);
  CHECK(f.count(counter::expirations) == 0);
  // An entry the walk passed just before it expired is seen again one round later; with
  // expired entries this dense each pass also goes on for its time budget, so on an unloaded
  // machine one or two passes do it (corral-bench --scenario expiry measures that).
  passes(f, 2 * static_cast<int>(expiry_sweep::passes_per_round) + 1);
  CHECK(f.handle.size() == 0);
  CHECK(f.count(counter::expirations) == 200000);
  CHECK(f.core->metrics_now().total.expirations == 200000);
}

TEST_CASE("a pass over a table of live entries examines a bounded stretch", "[expiry]") {
  fixture f{expiring_config(std::chrono::hours(1))};
  for (int i = 0; i < 100000; ++i)
    f.handle.put("k" + std::to_string(i), "v");
  expiry_sweep sweep;
  auto r = sweep.run(*f.core, std::chrono::seconds(10));
  CHECK(r.reclaimed == 0);
  // A tenth of the table, rounded up to whole stretches of buckets; never the whole table.
  CHECK(r.examined >= 100000 / expiry_sweep::passes_per_round);
  CHECK(r.examined <= 100000 / expiry_sweep::passes_per_round + 8192);
  // Ten more such passes complete a round.
  for (std::size_t i = 0; i < expiry_sweep::passes_per_round; ++i)
    sweep.run(*f.core, std::chrono::seconds(10));
  CHECK(sweep.cursor().rounds >= 1);
}

TEST_CASE("sparse expired entries are all found within one round of passes", "[expiry]") {
  auto cfg = expiring_config(std::chrono::hours(1));
  fixture f{cfg};
  for (int i = 0; i < 50000; ++i)
    f.handle.put("live" + std::to_string(i), "v");
  // 100 entries that expired already, scattered among the live ones.
  auto past = f.now() - ms(1);
  for (int i = 0; i < 100; ++i) {
    auto e = string_entry(past);
    REQUIRE(f.core->table.publish_newest("dead" + std::to_string(i), e, f.now()));
  }
  expiry_sweep sweep;
  std::size_t reclaimed = 0;
  for (std::size_t i = 0; i <= expiry_sweep::passes_per_round; ++i)
    reclaimed += sweep.run(*f.core, std::chrono::seconds(10)).reclaimed;
  CHECK(reclaimed == 100);
  CHECK(f.handle.size() == 50000);
}

TEST_CASE("proactive expiry never reclaims a dirty entry", "[expiry]") {
  fixture f{expiring_config(ms(100))};
  auto past = f.now() - ms(1);
  auto dirty = string_entry(past, true);
  REQUIRE(f.core->table.publish_newest("unwritten", dirty, f.now()));
  auto clean = string_entry(past);
  REQUIRE(f.core->table.publish_newest("written", clean, f.now()));
  passes(f, 2);
  CHECK(f.core->table.find_exact("unwritten") != nullptr);
  CHECK(f.core->table.find_exact("written") == nullptr);
  CHECK(f.count(counter::expirations) == 1);
}

TEST_CASE("a value inside stale_while_revalidate or stale_if_error is kept", "[expiry]") {
  auto cfg = expiring_config(ms(50));
  cfg.stale_while_revalidate = ms(100);
  cfg.stale_if_error = ms(200);
  fixture f{cfg};
  f.handle.put("k", "v");
  passes(f, 12); // at 240 ms, expired 190 ms ago: may still be served if a reload fails
  CHECK(f.handle.size() == 1);
  passes(f, 1); // 210 ms past expiry: beyond both windows
  CHECK(f.handle.size() == 0);
}

TEST_CASE("a cached not-found is reclaimed at its expiry", "[expiry]") {
  auto cfg = expiring_config(std::chrono::hours(1));
  cfg.negative_ttl = ms(30);
  cfg.stale_if_error = std::chrono::hours(1); // applies to values only
  fixture f{cfg};
  f.loader->script = [](const std::string&) -> std::optional<std::string> { return {}; };
  f.load("missing");
  REQUIRE(f.handle.size() == 1);
  passes(f, 1);
  CHECK(f.handle.size() == 1);
  passes(f, 1); // 40 ms: past the negative_ttl, and stale_if_error does not keep it
  CHECK(f.handle.size() == 0);
}

TEST_CASE("a reload in flight stores its value after its expired entry was reclaimed", "[expiry]") {
  fixture f{expiring_config(ms(30))};
  f.load("k");
  passes(f, 1);            // at 20 ms: still fresh
  f.advance(ms(15));       // expired at 35 ms
  auto w = f.request("k"); // a reload starts
  f.run();
  REQUIRE(f.loads.queued() == 1);
  passes(f, 1); // the pass reclaims the expired entry while the reload runs
  CHECK(f.count(counter::expirations) == 1);
  CHECK(f.core->table.find_exact("k") == nullptr);
  f.finish_one_load(); // the reload started after the old entry: the removal does not fence it
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:k");
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
}

TEST_CASE("a cache whose entries cannot expire runs no sweep", "[expiry]") {
  auto cfg = housekeeping_config();
  cfg.ttl = duration::zero();
  fixture f{cfg};
  for (int i = 0; i < 100; ++i)
    f.handle.put("k" + std::to_string(i), "v");
  expiry_sweep sweep;
  CHECK(sweep.run(*f.core, std::chrono::seconds(1)).examined == 0);
}
