// The per-cache load watch that replaced one CAF timer per load (runtime/engine/load_watch.hpp),
// alone and through the key actors on the test clock.
#include <catch2/catch.hpp>

#include "test_fixture.hpp"
#include <corral/runtime/engine/load_watch.hpp>

using namespace corral;
using namespace corral::test;

namespace {

cache_config timed_loads() {
  cache_config c;
  c.ttl = std::chrono::seconds(60);
  c.load_timeout = ms(100);
  return c;
}

} // namespace

TEST_CASE("the load watch asks for a timer only when none is armed", "[load_watch]") {
  load_watch w;
  time_point t0{};
  auto a = std::make_shared<load_flags>();
  auto b = std::make_shared<load_flags>();
  CHECK(w.add(t0 + ms(100), caf::actor_addr{}, 1, a));       // unarmed: the caller arms
  CHECK_FALSE(w.add(t0 + ms(110), caf::actor_addr{}, 2, b)); // armed already
  auto next = time_point::max();
  CHECK(w.take_expired(t0 + ms(50), next).empty());
  CHECK(next == t0 + ms(100)); // still armed, for the head
  auto fired = w.take_expired(t0 + ms(100), next);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].load_id == 1);
  CHECK(next == t0 + ms(110));
  b->finished = true;
  CHECK(w.take_expired(t0 + ms(200), next).empty()); // finished: nothing to time out
  CHECK(next == time_point::max());
  CHECK(w.add(t0 + ms(300), caf::actor_addr{}, 3, a)); // disarmed when empty: arm again
}

TEST_CASE("finished loads leave the watch as new loads arrive", "[load_watch]") {
  load_watch w;
  time_point t0{};
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto f = std::make_shared<load_flags>();
    w.add(t0 + ms(100), caf::actor_addr{}, i, f);
    f->finished = true; // loads that return at once, as cold misses usually do
  }
  CHECK(w.size() == 1); // only the newest, finished after its own add
}

TEST_CASE("loads that return before their deadline are never timed out",
          "[load_watch][key_actor]") {
  fixture f{timed_loads()};
  std::vector<std::shared_ptr<recording_sink>> sinks;
  for (const char* key : {"a", "b", "c"}) {
    sinks.push_back(f.request(key));
    f.run();
    f.advance(ms(30));
  }
  CHECK(f.core->watched_loads.size() == 3);
  f.loads.run_all(); // all three return at 90 ms, before a's deadline at 100 ms
  f.run();
  for (auto& s : sinks) {
    REQUIRE(s->results.size() == 1);
    CHECK(s->results[0].ok());
  }
  f.advance(ms(100)); // past every deadline: the watch fires for none of them
  CHECK(f.count(counter::timeouts) == 0);
  CHECK(f.core->watched_loads.size() == 0);
}

TEST_CASE("a load still running at its deadline is timed out, one after another",
          "[load_watch][key_actor]") {
  fixture f{timed_loads()};
  auto a = f.request("a");
  f.run();
  f.advance(ms(40));
  auto b = f.request("b");
  f.run();
  f.advance(ms(60)); // a's deadline
  REQUIRE(a->results.size() == 1);
  CHECK(a->results[0].code() == errc::timeout);
  CHECK(b->results.empty());
  f.advance(ms(39));
  CHECK(b->results.empty());
  f.advance(ms(1)); // b's deadline, from the timer the supervisor re-armed for it
  REQUIRE(b->results.size() == 1);
  CHECK(b->results[0].code() == errc::timeout);
  CHECK(f.count(counter::timeouts) == 2);
}
