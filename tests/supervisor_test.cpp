// Message-level tests of the cache supervisor: routing, passivation, resident cap, pruning, and
// the public message interface used by CAF actors.
#include <random>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

TEST_CASE("an idle key actor is passivated after idle_timeout and its entry stays",
          "[supervisor]") {
  fixture f{housekeeping_config()};
  f.load("k");
  CHECK(f.status().resident_actors == 1);
  f.advance(ms(80));
  CHECK(f.status().resident_actors == 1);
  f.advance(ms(40)); // a housekeeping tick after 100 ms of idleness
  auto s = f.status();
  CHECK(s.resident_actors == 0);
  CHECK(s.passivations == 1);
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
  // The next miss-path request spawns a fresh actor and is answered from the table.
  auto w = f.request("k");
  f.run();
  REQUIRE(w->results.size() == 1);
  CHECK(f.loader->calls.size() == 1);
}

TEST_CASE("a key actor with a load in flight is never passivated", "[supervisor]") {
  fixture f{housekeeping_config()};
  auto w = f.request("k");
  f.run();
  f.advance(ms(500));
  CHECK(f.status().resident_actors == 1);
  f.finish_one_load();
  REQUIRE(w->results.size() == 1);
  f.advance(ms(200));
  CHECK(f.status().resident_actors == 0);
}

TEST_CASE("max_resident_actors passivates the longest-idle actors first", "[supervisor]") {
  auto cfg = housekeeping_config();
  cfg.idle_timeout = std::chrono::seconds(100);
  cfg.max_resident_actors = 2;
  fixture f{cfg};
  f.load("a");
  f.advance(ms(1));
  f.load("b");
  CHECK(f.status().resident_actors == 2);
  f.load("c"); // makes room by passivating "a", the longest idle
  auto s = f.status();
  CHECK(s.resident_actors == 2);
  CHECK(s.passivations == 1);
  CHECK(f.handle.try_get("a").has_value());
}

TEST_CASE("the resident cap is soft: busy actors are never passivated to make room",
          "[supervisor]") {
  auto cfg = housekeeping_config();
  cfg.max_resident_actors = 1;
  fixture f{cfg};
  f.request("a");
  f.request("b");
  f.run();
  CHECK(f.status().resident_actors == 2);
  CHECK(f.loads.queued() == 2);
}

TEST_CASE("over max_entries, a new key colder than the residents is not admitted",
          "[supervisor][bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_entries = 15;
  fixture f{cfg};
  for (int i = 0; i < 10; ++i)
    f.handle.put("old" + std::to_string(i), "v");
  f.advance(ms(50));
  for (int i = 0; i < 5; ++i) // read half of the old keys again
    REQUIRE(f.handle.try_get("old" + std::to_string(i)).has_value());
  for (int i = 0; i < 10; ++i)
    f.handle.put("new" + std::to_string(i), "v");
  CHECK(f.handle.size() == 15); // at once, on the insert path
  for (int i = 0; i < 5; ++i)   // the keys read again are the most frequent: they stay
    CHECK(f.handle.try_get("old" + std::to_string(i)).has_value());
  f.advance(ms(20)); // the housekeeping backstop finds nothing to do
  CHECK(f.handle.size() == 15);
  CHECK(f.status().evictions == 0);
}

TEST_CASE("eviction never evicts a key whose load is in flight", "[supervisor][bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_entries = 1;
  cfg.ttl = ms(30);
  cfg.stale_if_error = std::chrono::hours(1); // keeps proactive expiry off the expired entry
  fixture f{cfg};
  f.load("busy");
  f.advance(ms(50));          // "busy" has expired: the first candidate for eviction
  auto w = f.request("busy"); // starts a reload: the key's actor is busy
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.handle.put("other", "v"); // over the bound: "busy" may not go, so "other" does
  CHECK(f.handle.size() == 1);
  CHECK_FALSE(f.handle.try_get("other").has_value());
  f.advance(ms(20));
  f.finish_one_load();
  REQUIRE(w->results.size() == 1);
  CHECK(f.handle.try_get("busy") == std::optional<std::string>{"v:busy"});
}

TEST_CASE("CAF actors use the cache through messages only", "[supervisor][messages]") {
  fixture f{housekeeping_config()};
  std::vector<std::string> got;
  std::vector<error> failures;
  auto cache_ref = caf::actor_cast<cache_actor>(f.core->supervisor);
  spawn_client(f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, get_atom::value, std::string{"k"})
        .then([&](const std::string& bytes) { got.push_back(bytes); },
              [&](caf::error& e) { failures.push_back(from_caf_error(e)); });
  });
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.finish_one_load();
  REQUIRE(got == std::vector<std::string>{"v:k"});

  spawn_client(f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, put_atom::value, std::string{"p"}, std::string{"x"})
        .then([&](ok_atom) { got.push_back("put-ok"); });
    self->request(cache_ref, caf::infinite, invalidate_atom::value, std::string{"k"})
        .then([&](ok_atom) { got.push_back("invalidate-ok"); });
  });
  f.run();
  CHECK(f.handle.try_get("p") == std::optional<std::string>{"x"});
  CHECK_FALSE(f.handle.try_get("k").has_value());
  CHECK(got.size() == 3);

  f.loader->script = [](const std::string&) -> std::optional<std::string> {
    throw std::runtime_error("nope");
  };
  spawn_client(f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, get_atom::value, std::string{"bad"})
        .then([&](const std::string& bytes) { got.push_back(bytes); },
              [&](caf::error& e) { failures.push_back(from_caf_error(e)); });
  });
  f.run();
  f.finish_one_load();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].code == errc::load_failed);
  CHECK(failures[0].message.find("nope") != std::string::npos);
}

TEST_CASE("a value put by message expires after the ttl like any other", "[supervisor][messages]") {
  auto cfg = housekeeping_config();
  cfg.ttl = ms(100);
  fixture f{cfg};
  auto cache_ref = caf::actor_cast<cache_actor>(f.core->supervisor);
  bool stored = false;
  spawn_client(f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, put_atom::value, std::string{"p"}, std::string{"x"})
        .then([&](ok_atom) { stored = true; });
  });
  f.run();
  REQUIRE(stored);
  f.advance(ms(99));
  CHECK(f.handle.try_get("p") == std::optional<std::string>{"x"});
  f.advance(ms(1));
  CHECK_FALSE(f.handle.try_get("p").has_value());
}

TEST_CASE("an invalidation leaves nothing in the table, also while a load of the key runs",
          "[supervisor]") {
  fixture f{housekeeping_config()};
  std::mt19937_64 rng{7};
  auto links = [&] { return f.core->table.sample(100, rng).size(); };
  f.handle.invalidate("idle-key");
  f.run();
  CHECK(links() == 0);
  auto w = f.request("busy-key");
  f.run();
  f.handle.invalidate("busy-key"); // the running load is fenced off without an entry
  f.run();
  CHECK(links() == 0);
  f.finish_one_load(); // the load's result is refused; its waiter still gets it
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:busy-key");
  CHECK(links() == 0);
  CHECK_FALSE(f.handle.try_get("busy-key").has_value());
}

TEST_CASE("an invalidate sent as a message leaves nothing in the table", "[supervisor][messages]") {
  fixture f{housekeeping_config()};
  auto cache_ref = caf::actor_cast<cache_actor>(f.core->supervisor);
  bool done = false;
  spawn_client(f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, invalidate_atom::value, std::string{"absent"})
        .then([&](ok_atom) { done = true; });
  });
  f.run();
  REQUIRE(done);
  std::mt19937_64 rng{3};
  CHECK(f.core->table.sample(100, rng).empty());
}
