// Passivation and re-activation racing new requests for the same key, one message at a time:
// the key registry's handshake (runtime/engine/key_registry.hpp) must never lose a routed request
// nor leave two actors owning one key.
#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

TEST_CASE("a request routed to an idle actor before its passivation keeps the actor",
          "[passivation]") {
  fixture f{housekeeping_config()};
  f.load("k");
  f.advance(ms(90));
  auto w = f.request("k"); // routed, not yet handled: the actor is no longer a candidate
  f.sched.advance_time(std::chrono::duration_cast<caf::timespan>(ms(40))); // housekeeping due
  f.run();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:k");
  auto s = f.status();
  CHECK(s.passivations == 0);
  CHECK(s.resident_actors == 1);
  // Idle again from the request's answer on: passivated one idle_timeout later.
  f.advance(ms(120));
  CHECK(f.status().passivations == 1);
  CHECK(f.status().resident_actors == 0);
}

TEST_CASE("a request arriving while its key's actor is being passivated gets a fresh actor",
          "[passivation]") {
  fixture f{housekeeping_config()};
  f.load("k");
  f.sched.advance_time(std::chrono::duration_cast<caf::timespan>(ms(120)));
  // Only the supervisor's housekeeping runs: it retires the idle actor and sends it passivate,
  // which the actor has not handled yet.
  REQUIRE(f.sched.try_run_once());
  CHECK(f.core->keys.resident() == 0);
  auto w = f.request("k"); // finds no slot: spawns a second actor for the key
  CHECK(f.core->keys.resident() == 1);
  f.run();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:k"); // from the table: the entry outlived the first actor
  CHECK(f.loader->calls.size() == 1);
  auto s = f.status();
  CHECK(s.passivations == 1);
  CHECK(s.resident_actors == 1);
}

TEST_CASE("an idle report that is not the slot's actor's own is ignored", "[passivation]") {
  fixture f{housekeeping_config()};
  f.load("k");
  f.advance(ms(120)); // the first actor is passivated
  REQUIRE(f.status().passivations == 1);
  f.handle.invalidate("k");
  auto w = f.request("k"); // a second actor, busy with a load
  f.run();
  auto hash = entry_table::hash_key("k");
  REQUIRE(f.core->keys.busy("k", hash));
  // A report from another actor (here: none) with the successor's counts changes nothing.
  f.core->keys.mark_idle("k", hash, caf::actor_addr{}, 1, f.now());
  CHECK(f.core->keys.busy("k", hash));
  CHECK(f.core->keys.idle() == 0);
  f.finish_one_load();
  REQUIRE(w->results.size() == 1);
  CHECK_FALSE(f.core->keys.busy("k", hash));
}

TEST_CASE("a key actor that dies leaves the registry and the key's next request is served",
          "[passivation]") {
  fixture f{housekeeping_config()};
  auto first = f.request("k");
  f.run();
  REQUIRE(f.core->keys.resident() == 1);
  // Kill the actor from outside, as a failure inside it would end it.
  std::vector<key_actor> none;
  auto actor = f.core->keys.route("k", entry_table::hash_key("k"), 0, none);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  f.run();
  CHECK(f.core->keys.resident() == 0);
  auto second = f.request("k"); // a new actor, which starts a load of its own
  f.run();
  CHECK(f.core->keys.resident() == 1);
  // The dead actor's load still answers the request that started it (from the loader thread);
  // its load_done has nowhere to go. The new actor's load answers the second request.
  f.loads.run_all();
  f.run();
  REQUIRE(first->results.size() == 1);
  CHECK(first->results[0].value() == "v:k");
  REQUIRE(second->results.size() == 1);
  CHECK(second->results[0].value() == "v:k");
  CHECK(f.loader->calls.size() == 2);
}

TEST_CASE("max_resident_actors retires idle actors oldest first across shards", "[passivation]") {
  auto cfg = housekeeping_config();
  cfg.idle_timeout = std::chrono::hours(1);
  cfg.max_resident_actors = 8;
  fixture f{cfg};
  for (int i = 0; i < 8; ++i) {
    f.load("k" + std::to_string(i));
    f.advance(ms(1));
  }
  REQUIRE(f.status().resident_actors == 8);
  for (int i = 8; i < 12; ++i) // each new key retires the longest-idle one
    f.load("k" + std::to_string(i));
  auto s = f.status();
  CHECK(s.resident_actors == 8);
  CHECK(s.passivations == 4);
  for (int i = 0; i < 12; ++i) { // the four longest idle went: k0 to k3
    auto k = "k" + std::to_string(i);
    CHECK(f.core->keys.contains(k, entry_table::hash_key(k)) == (i >= 4));
  }
}

TEST_CASE("idle_timeout 0 passivates an idle actor at the next housekeeping pass",
          "[passivation]") {
  auto cfg = housekeeping_config();
  cfg.idle_timeout = duration::zero();
  fixture f{cfg};
  f.load("k");
  REQUIRE(f.core->keys.resident() == 1);
  f.advance(ms(20));
  CHECK(f.core->keys.resident() == 0);
  CHECK(f.status().passivations == 1);
}
