// Every request is counted exactly once, as a hit, a miss or an error, also when the requester
// gives up (its deadline margin passed) and the key actor answers the same request later.
// Each case answers the token as cache<V>::get's give-up path does, then lets the key actor
// handle the request, so the two answers race in the order that used to count twice.
#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

cache_config config() {
  cache_config c;
  c.ttl = 1s;
  c.stale_while_revalidate = 10s;
  c.load_timeout = duration::zero();
  c.prune_interval = 1h;
  c.idle_timeout = 1h;
  return c;
}

/// A request whose token its requester already answered with a timeout (and counted).
reply_token_ptr given_up(fixture& f, const std::string& key) {
  auto sink = std::make_shared<recording_sink>();
  auto token = std::make_shared<reply_token>(sink, key, f.core, &f.core->counters);
  REQUIRE(token->deliver(outcome::failed(errc::timeout, "gave up"), f.core->counters,
                         counter::timeouts));
  return token;
}

/// hits + misses + errors, as the metrics compute `requests` (one count per answer kind).
std::uint64_t requests(fixture& f) {
  return f.core->metrics_now().total.requests;
}

void send(fixture& f, const std::string& key, reply_token_ptr token,
          time_point deadline = time_point::max()) {
  f.core->send_to_key(key, local_get_msg{key, std::move(token), deadline});
  f.run();
}

} // namespace

TEST_CASE("a request its requester gave up on is counted once whatever the key actor does",
          "[metrics][race]") {
  SECTION("no loader") {
    fixture f{config(), false};
    send(f, "k", given_up(f, "k"));
    CHECK(requests(f) == 1);
  }
  SECTION("the deadline has passed when the key actor sees it") {
    fixture f{config()};
    send(f, "k", given_up(f, "k"), f.now());
    CHECK(requests(f) == 1);
    CHECK(f.loads.queued() == 0);
  }
  SECTION("a stale value is served") {
    fixture f{config()};
    f.load("k");
    f.advance(2s); // stale, inside stale_while_revalidate
    auto before = requests(f);
    send(f, "k", given_up(f, "k"));
    CHECK(requests(f) == before + 1);
  }
  SECTION("a fresh value is served") {
    fixture f{config()};
    f.load("k");
    auto before = requests(f);
    send(f, "k", given_up(f, "k"));
    CHECK(requests(f) == before + 1);
  }
  SECTION("a parked waiter's deadline fires") {
    fixture f{config()};
    auto sink = std::make_shared<recording_sink>();
    auto token = std::make_shared<reply_token>(sink, "k", f.core, &f.core->counters);
    send(f, "k", token, f.now() + 100ms); // parked on the load
    REQUIRE(token->deliver(outcome::failed(errc::timeout, "gave up"), f.core->counters,
                           counter::timeouts));
    f.advance(100ms); // the key actor's deadline timer
    CHECK(requests(f) == 1);
    CHECK(sink->results.size() == 1);
  }
  SECTION("the load completes") {
    fixture f{config()};
    auto sink = std::make_shared<recording_sink>();
    auto token = std::make_shared<reply_token>(sink, "k", f.core, &f.core->counters);
    send(f, "k", token);
    REQUIRE(token->deliver(outcome::failed(errc::timeout, "gave up"), f.core->counters,
                           counter::timeouts));
    f.finish_one_load();
    CHECK(requests(f) == 1);
    CHECK(sink->results.size() == 1);
  }
}
