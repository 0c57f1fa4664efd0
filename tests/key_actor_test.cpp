// Message-level tests of the key actor: one message at a time on CAF's test coordinator.
#include <stdexcept>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

namespace {

cache_config with_ttl(duration ttl) {
  cache_config c;
  c.ttl = ttl;
  c.load_timeout = duration::zero();
  return c;
}

} // namespace

TEST_CASE("three gets during one load make one loader call and three replies", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto a = f.request("k");
  auto b = f.request("k");
  f.run();
  auto c = f.request("k"); // arrives while the load is still running
  f.run();
  REQUIRE(f.loads.queued() == 1);
  CHECK(a->results.empty());
  f.finish_one_load();
  REQUIRE(f.loader->calls == std::vector<std::string>{"k"});
  for (auto* s : {a.get(), b.get(), c.get()}) {
    REQUIRE(s->results.size() == 1);
    CHECK(s->results[0].value() == "v:k");
  }
  CHECK(f.count(counter::loads) == 1);
  CHECK(f.count(counter::misses) == 3);
  // The entry is now in the table: the hit path serves it without any message.
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
}

TEST_CASE("an entry expires after its ttl on the test clock and is loaded again", "[key_actor]") {
  fixture f{with_ttl(ms(100))};
  f.load("k");
  f.advance(ms(99));
  CHECK(f.handle.try_get("k").has_value());
  auto hit = f.request("k");
  f.run();
  REQUIRE(hit->results.size() == 1); // answered from the table by the key actor
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  CHECK_FALSE(f.handle.try_get("k").has_value());
  auto miss = f.request("k");
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.finish_one_load();
  REQUIRE(miss->results.size() == 1);
  CHECK(f.loader->calls.size() == 2);
}

TEST_CASE("ttl 0 never expires (lazy loader)", "[key_actor]") {
  fixture f{with_ttl(duration::zero())};
  f.load("k");
  f.advance(std::chrono::hours(24 * 365));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
  CHECK(f.loader->calls.size() == 1);
}

TEST_CASE("not found is cached for negative_ttl, then loaded again", "[key_actor]") {
  auto cfg = with_ttl(ms(1000));
  cfg.negative_ttl = ms(50);
  fixture f{cfg};
  f.loader->script = [](const std::string&) { return std::optional<std::string>{}; };
  auto first = f.request("gone");
  f.run();
  f.finish_one_load();
  REQUIRE(first->results.size() == 1);
  CHECK(first->results[0].code() == errc::not_found);
  auto cached = f.handle.get_async("gone").get(); // answered by the hit path
  CHECK(cached.code() == errc::not_found);
  CHECK(f.count(counter::negative_hits) == 1);
  CHECK(f.loader->calls.size() == 1);
  f.advance(ms(50));
  f.request("gone");
  f.run();
  CHECK(f.loads.queued() == 1);
}

TEST_CASE("without negative_ttl, not found is not cached", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  f.loader->script = [](const std::string&) { return std::optional<std::string>{}; };
  f.load("gone");
  f.request("gone");
  f.run();
  CHECK(f.loads.queued() == 1);
}

TEST_CASE("load_timeout answers waiters with timeout and still stores a late success",
          "[key_actor]") {
  auto cfg = with_ttl(ms(10000));
  cfg.load_timeout = ms(200);
  fixture f{cfg};
  auto a = f.request("slow");
  auto b = f.request("slow");
  f.run();
  running_load slow{f}; // the loader has started and hangs
  f.advance(ms(199));
  CHECK(a->results.empty());
  f.advance(ms(1));
  REQUIRE(a->results.size() == 1);
  REQUIRE(b->results.size() == 1);
  CHECK(a->results[0].code() == errc::timeout);
  CHECK(a->results[0].err().message.find("'slow'") != std::string::npos);
  CHECK(f.count(counter::timeouts) == 2);
  // The loader returns late: nobody waits any more, but the value is stored.
  slow.finish();
  CHECK(f.handle.try_get("slow") == std::optional<std::string>{"v:slow"});
}

TEST_CASE("a load abandoned after load_timeout lets the next request start a new load",
          "[key_actor]") {
  auto cfg = with_ttl(ms(10000));
  cfg.load_timeout = ms(100);
  fixture f{cfg};
  f.request("k");
  f.run();
  running_load hung{f};
  f.advance(ms(100));
  auto again = f.request("k");
  f.run();
  CHECK(f.loads.queued() == 1);        // a new load, beside the hung one
  hung.finish();                       // the abandoned load ends first
  REQUIRE(again->results.size() == 1); // the value is in the table; the waiter is answered
  f.finish_one_load();
  CHECK(again->results.size() == 1);
}

TEST_CASE("a throwing loader fails every waiter and leaves the key usable", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  bool fail = true;
  f.loader->script = [&](const std::string& key) -> std::optional<std::string> {
    if (fail)
      throw std::runtime_error("backend down");
    return "v:" + key;
  };
  auto a = f.request("k");
  auto b = f.request("k");
  f.run();
  f.finish_one_load();
  for (auto* s : {a.get(), b.get()}) {
    REQUIRE(s->results.size() == 1);
    CHECK(s->results[0].code() == errc::load_failed);
    CHECK(s->results[0].err().message.find("backend down") != std::string::npos);
  }
  CHECK(f.count(counter::load_errors) == 1);
  CHECK(f.count(counter::errors) == 2);
  fail = false;
  auto c = f.request("k"); // errors are not cached
  f.run();
  f.finish_one_load();
  REQUIRE(c->results.size() == 1);
  CHECK(c->results[0].value() == "v:k");
}

TEST_CASE("error backoff fails fast and doubles per consecutive failure", "[key_actor]") {
  auto cfg = with_ttl(ms(1000));
  cfg.error_backoff = ms(100);
  cfg.error_backoff_max = ms(300);
  fixture f{cfg};
  f.loader->script = [](const std::string&) -> std::optional<std::string> {
    throw std::runtime_error("down");
  };
  auto fail_once = [&] {
    f.request("k");
    f.run();
    f.finish_one_load();
  };
  fail_once(); // failure 1: backoff 100 ms
  auto fast = f.request("k");
  f.run();
  REQUIRE(fast->results.size() == 1);
  CHECK(fast->results[0].code() == errc::load_failed);
  CHECK(f.loads.queued() == 0);
  f.advance(ms(100));
  fail_once(); // failure 2: backoff 200 ms
  f.advance(ms(199));
  f.request("k");
  f.run();
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  fail_once(); // failure 3: 400 ms capped at 300 ms
  f.advance(ms(299));
  f.request("k");
  f.run();
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  f.request("k");
  f.run();
  CHECK(f.loads.queued() == 1);
  CHECK(f.loader->calls.size() == 3);
}

TEST_CASE("stale_while_revalidate serves the old value at once and reloads once", "[key_actor]") {
  auto cfg = with_ttl(ms(100));
  cfg.stale_while_revalidate = ms(50);
  fixture f{cfg};
  int version = 0;
  f.loader->script = [&](const std::string&) {
    return std::optional<std::string>{"v" + std::to_string(++version)};
  };
  f.load("k");
  f.advance(ms(120));
  // Two readers on the hit path: both get the stale value, only one refresh is asked for.
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v1"});
  CHECK(f.handle.get_async("k").get().value() == "v1");
  f.run();
  CHECK(f.loads.queued() == 1);
  f.finish_one_load();
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v2"});
  CHECK(f.count(counter::stale_hits) == 1);
  // Past the stale window the value is not served any more.
  f.advance(ms(160));
  CHECK_FALSE(f.handle.try_get("k").has_value());
}

TEST_CASE("stale_if_error answers waiters with the old value when the reload fails",
          "[key_actor]") {
  auto cfg = with_ttl(ms(100));
  cfg.stale_if_error = ms(1000);
  fixture f{cfg};
  auto fail_flag = f.failing_loader("good", false);
  auto& fail = *fail_flag;
  f.load("k");
  f.advance(ms(200));
  fail = true;
  auto w = f.request("k");
  f.run();
  f.finish_one_load();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "good");
  CHECK(w->stale[0]);
  CHECK(f.count(counter::stale_on_error) == 1);
  f.advance(ms(1000)); // beyond stale_if_error: the error comes through
  auto late = f.request("k");
  f.run();
  f.finish_one_load();
  REQUIRE(late->results.size() == 1);
  CHECK(late->results[0].code() == errc::load_failed);
}

TEST_CASE("one waiter's deadline passes while the others are served", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto patient = f.request("k");
  auto hurried = f.request("k", f.now() + ms(30));
  auto patient2 = f.request("k");
  f.run();
  f.advance(ms(30));
  REQUIRE(hurried->results.size() == 1);
  CHECK(hurried->results[0].code() == errc::timeout);
  CHECK(patient->results.empty());
  f.finish_one_load();
  REQUIRE(patient->results.size() == 1);
  REQUIRE(patient2->results.size() == 1);
  CHECK(patient->results[0].value() == "v:k");
  CHECK(hurried->results.size() == 1); // answered exactly once
  CHECK(f.loader->calls.size() == 1);
}

TEST_CASE("a put made while a load runs wins over the load's result", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto w = f.request("k");
  f.run();
  f.handle.put("k", "from-put");
  f.finish_one_load();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:k"); // the waiter gets what it asked for
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"from-put"});
}

TEST_CASE("an invalidate made while a load runs keeps its result out of the table", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  f.request("k");
  f.run();
  f.handle.invalidate("k");
  f.finish_one_load();
  CHECK_FALSE(f.handle.try_get("k").has_value());
  CHECK(f.count(counter::invalidations) == 1);
}

TEST_CASE("a cache without a loader answers misses with no_loader", "[key_actor]") {
  fixture f{with_ttl(ms(1000)), false};
  auto w = f.request("k");
  f.run();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].code() == errc::no_loader);
  f.handle.put("k", "v");
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v"});
}

TEST_CASE("shutdown answers parked waiters with shutting_down", "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto w = f.request("k");
  f.run();
  caf::anon_send(f.core->supervisor, shutdown_atom::value);
  f.run();
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].code() == errc::shutting_down);
  // A request sent after shutdown is dropped with its message, and still answered.
  auto late = f.request("k");
  f.run();
  REQUIRE(late->results.size() == 1);
  CHECK(late->results[0].code() == errc::shutting_down);
}

TEST_CASE("a stale read during error backoff does not start a load", "[key_actor]") {
  auto cfg = with_ttl(ms(100));
  cfg.stale_while_revalidate = ms(10000);
  cfg.error_backoff = ms(500);
  fixture f{cfg};
  auto fail_flag = f.failing_loader("v", false);
  auto& fail = *fail_flag;
  f.load("k");
  f.advance(ms(150));
  fail = true;
  f.request("k"); // stale: answered at once, refresh starts and fails -> backoff
  f.run();
  f.finish_one_load();
  auto during = f.request("k"); // stale again, inside the backoff: no load
  f.run();
  REQUIRE(during->results.size() == 1);
  CHECK(during->stale[0]);
  CHECK(f.loads.queued() == 0);
  CHECK(f.loader->calls.size() == 2);
}

TEST_CASE("a load abandoned before it started never calls the loader", "[key_actor]") {
  auto cfg = with_ttl(ms(1000));
  cfg.load_timeout = ms(100);
  fixture f{cfg};
  auto w = f.request("k");
  f.run();
  f.advance(ms(100)); // times out while still queued (the pool never got to it)
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].code() == errc::timeout);
  f.finish_one_load();
  CHECK(f.loader->calls.empty());
  CHECK(f.status().busy_actors == 0); // the skipped load still counts as finished
}

TEST_CASE("a refresh that starts no load leaves the key actor idle", "[key_actor]") {
  auto cfg = with_ttl(ms(100));
  cfg.stale_while_revalidate = ms(1000);
  fixture f{cfg, false}; // no loader: values only come from put
  f.handle.put("k", "v");
  f.advance(ms(150));
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v"}); // stale: asks for a refresh
  f.run();
  auto s = f.status();
  CHECK(s.resident_actors == 1);
  CHECK(s.busy_actors == 0);
}

TEST_CASE("the request that started a load is answered by the loader thread, the others by the "
          "actor",
          "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto lead = f.request("k");
  f.run();
  auto other = f.request("k"); // parks behind the load in flight
  f.run();
  REQUIRE(f.loads.run_one()); // only the load job: the actor has not seen its result yet
  REQUIRE(lead->results.size() == 1);
  CHECK(lead->results[0].value() == "v:k");
  CHECK(other->results.empty());
  // Published by the loader thread before it answered: the requester finds it in memory.
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
  f.run();
  REQUIRE(other->results.size() == 1);
  CHECK(other->results[0].value() == "v:k");
  REQUIRE(lead->results.size() == 1); // answered once
  CHECK(f.count(counter::misses) == 2);
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"v:k"});
}

TEST_CASE("a leading request that passed its deadline is not answered again by the loader thread",
          "[key_actor]") {
  fixture f{with_ttl(ms(1000))};
  auto lead = f.request("k", f.now() + ms(10));
  f.run();
  auto other = f.request("k");
  f.run();
  f.advance(ms(20));
  REQUIRE(lead->results.size() == 1);
  CHECK(lead->results[0].code() == errc::timeout);
  f.finish_one_load();
  CHECK(lead->results.size() == 1);
  REQUIRE(other->results.size() == 1);
  CHECK(other->results[0].value() == "v:k");
  CHECK(f.count(counter::timeouts) == 1);
  CHECK(f.count(counter::misses) == 1);
}

TEST_CASE("a failed load leaves the leading request to the actor's error handling", "[key_actor]") {
  auto cfg = with_ttl(ms(1000));
  fixture f{cfg};
  f.loader->script = [](const std::string&) -> std::optional<std::string> {
    throw std::runtime_error("backend down");
  };
  auto lead = f.request("k");
  f.run();
  REQUIRE(f.loads.run_one());
  CHECK(lead->results.empty()); // the loader thread answers only values
  f.run();
  REQUIRE(lead->results.size() == 1);
  CHECK(lead->results[0].code() == errc::load_failed);
}
