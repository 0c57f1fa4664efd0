// Resources (resources-go's model, corrected): message by message on the test scheduler with a
// manual loader executor, then resources-go's own tests ported onto the real runtime.
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/resources/resource_set.hpp>
#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

std::chrono::milliseconds ms(long n) {
  return std::chrono::milliseconds(n);
}

caf::actor_system_config& test_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.console", caf::atom("none"));
  register_message_types(cfg);
  return cfg;
}

/// A loader whose n-th call returns "v<n>", or throws `message` while `failing` is set.
struct scripted_resource {
  int calls = 0;
  bool failing = false;
  std::string message = "backend down";
  std::string operator()() {
    ++calls;
    if (failing)
      throw std::runtime_error(message);
    return "v" + std::to_string(calls);
  }
};

resource_config every(std::string name, duration interval) {
  resource_config c;
  c.name = std::move(name);
  c.refresh_interval = interval;
  c.error_backoff = duration::zero();
  return c;
}

/// A resource_set on CAF's test scheduler: the test decides when each message is handled,
/// when each load completes and what time it is.
struct fixture {
  explicit fixture(std::function<double()> random = [] { return 0.5; })
      : sys(test_config(caf_cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        set(std::make_unique<resource_set>(sys, loads, std::vector<resource_config>{},
                                           std::move(random))) {
    set->on_error([this](const std::string& name, const error& e) {
      reported.push_back(name + ": " + e.message);
      reported_codes.push_back(e.code);
    });
    sched.run();
  }

  ~fixture() {
    // Stop the actor even after a failed REQUIRE, or the actor_system destructor waits forever.
    caf::anon_send(set->actor(), shutdown_atom::value);
    sched.run();
    loads.run_all(); // their results go to a stopped actor and are dropped
    sched.run();
  }

  /// Adds a resource whose loader is `script` (kept alive by the fixture).
  resource<std::string> add(resource_config cfg, std::shared_ptr<scripted_resource> script) {
    return set->add<std::string>(std::move(cfg), [script] { return (*script)(); });
  }

  void run() { sched.run(); }
  /// Completes the oldest pending load and delivers its result.
  void finish_one_load() {
    REQUIRE(loads.run_one());
    sched.run();
  }
  void advance(duration d) {
    sched.advance_time(std::chrono::duration_cast<caf::timespan>(d));
    sched.run();
  }
  time_point now() { return sched.clock().now(); }

  caf::actor_system_config caf_cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  manual_executor loads;
  std::unique_ptr<resource_set> set;
  std::vector<std::string> reported; // what the error handler received
  std::vector<errc> reported_codes;
};

} // namespace

// -- message level, on the test clock ------------------------------------------------------------

TEST_CASE("nothing loads before the first sync, a get then reports not loaded yet", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  f.run();
  CHECK(f.loads.queued() == 0);
  auto r = a.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::not_loaded);
  CHECK(r.err().message == "resource 'a' is not loaded yet");
  CHECK(a.snapshot() == nullptr);
}

TEST_CASE("a refresh tick triggers exactly one load, timed from the previous start",
          "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  f.set->sync(false);
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.advance(ms(300)); // the load takes 300 ms: fixed rate, so the next one is still at 1 s
  f.finish_one_load();
  CHECK(a.get().value() == "v1");
  f.advance(ms(699));
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  CHECK(f.loads.queued() == 1);   // exactly one load per tick
  CHECK(a.get().value() == "v1"); // the current value is served while the refresh runs
  // The next tick comes while that load still runs: it is skipped, never a second load.
  f.advance(1s);
  CHECK(f.loads.queued() == 1);
  f.finish_one_load();
  CHECK(a.get().value() == "v2");
  CHECK(script->calls == 2);
  CHECK(a.status().loads == 2);
  f.advance(1s); // the skipped round re-armed one interval later
  CHECK(f.loads.queued() == 1);
}

TEST_CASE("a failing refresh keeps the old value and backs off exponentially, capped",
          "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto cfg = every("a", 1s);
  cfg.error_backoff = ms(100);
  cfg.error_backoff_max = ms(400);
  auto a = f.add(cfg, script);
  f.set->sync(false);
  f.run();
  f.finish_one_load(); // t = 0: v1
  script->failing = true;
  f.advance(1s); // t = 1000: the regular refresh fails
  f.finish_one_load();
  CHECK(a.get().value() == "v1");
  CHECK(a.status().failures == 1);
  CHECK(a.status().consecutive_failures == 1);
  CHECK(a.status().last_error == "backend down");
  REQUIRE(f.reported.size() == 1);
  CHECK_THAT(f.reported[0], Contains("resource 'a': load failed: backend down"));
  CHECK_THAT(f.reported[0], Contains("last good value is kept"));
  // Retries at +100, +200, +400, +400 ms after each failure.
  for (auto delay : {ms(100), ms(200), ms(400), ms(400)}) {
    f.advance(delay - ms(1));
    CHECK(f.loads.queued() == 0);
    f.advance(ms(1));
    REQUIRE(f.loads.queued() == 1);
    f.finish_one_load();
    CHECK(a.get().value() == "v1");
  }
  CHECK(f.reported.size() == 5);
  CHECK(a.status().failures == 5);
  // The next retry succeeds and resets the backoff: back to one refresh per interval.
  script->failing = false;
  f.advance(ms(400));
  f.finish_one_load();
  CHECK(a.get().value() == "v7");
  CHECK(a.status().consecutive_failures == 0);
  CHECK(a.status().last_error.empty());
  f.advance(ms(999));
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  CHECK(f.loads.queued() == 1);
}

TEST_CASE("without error_backoff a failed refresh waits for the next regular one", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  f.set->sync(false);
  f.run();
  f.finish_one_load();
  script->failing = true;
  f.advance(1s);
  f.finish_one_load();
  f.advance(ms(999));
  CHECK(f.loads.queued() == 0);
  f.advance(ms(1));
  CHECK(f.loads.queued() == 1);
  CHECK(a.get().value() == "v1");
}

TEST_CASE("a removed resource stops refreshing and its load in flight is dropped", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  f.set->sync(false);
  f.run();
  f.finish_one_load();
  f.advance(1s);
  REQUIRE(f.loads.queued() == 1); // a refresh in flight
  CHECK(f.set->remove("a"));
  CHECK(a.get().code() == errc::no_such_resource); // at once, before the actor hears of it
  f.run();
  f.finish_one_load(); // its result arrives after the removal: dropped
  CHECK(a.get().code() == errc::no_such_resource);
  f.advance(10s);
  CHECK(f.loads.queued() == 0);
  CHECK(script->calls == 2);
  CHECK_FALSE(f.set->remove("a"));
  CHECK_THROWS_AS(f.set->get<std::string>("a"), failure);
}

TEST_CASE("a name removed and added again never gets the old load's result", "[resources]") {
  fixture f;
  auto old_script = std::make_shared<scripted_resource>();
  f.add(every("a", 1s), old_script);
  f.set->sync(false);
  f.run();
  REQUIRE(f.loads.queued() == 1); // the old first load is in flight
  f.set->remove("a");
  auto new_script = std::make_shared<scripted_resource>();
  new_script->message = "new backend down";
  new_script->failing = true;
  auto a = f.add(every("a", 1s), new_script); // after a sync: it loads at once
  f.run();
  REQUIRE(f.loads.queued() == 2);
  f.finish_one_load(); // the old loader's v1: dropped
  CHECK(a.get().code() == errc::not_loaded);
  f.finish_one_load();
  CHECK_THAT(a.get().err().message, Contains("last attempt failed: new backend down"));
}

TEST_CASE("sync loads every resource in parallel and names every one that failed", "[resources]") {
  fixture f;
  auto good = std::make_shared<scripted_resource>();
  auto bad = std::make_shared<scripted_resource>();
  auto worse = std::make_shared<scripted_resource>();
  bad->failing = true;
  bad->message = "b-error";
  worse->failing = true;
  worse->message = "c-error";
  auto a = f.add(every("a", 1s), good);
  auto b = f.add(every("b", 1s), bad);
  auto c = f.add(every("c", 1s), worse);
  auto round = f.set->start_sync();
  f.run();
  CHECK(f.loads.queued() == 3); // all submitted at once, not one after another
  f.finish_one_load();
  f.finish_one_load();
  CHECK_FALSE(round->ready());
  f.finish_one_load();
  REQUIRE(round->ready());
  auto err = round->wait();
  REQUIRE(err);
  CHECK(err->code == errc::load_failed);
  CHECK(err->message == "sync: 2 of 3 resources not loaded: 'b' (b-error); 'c' (c-error)");
  CHECK(a.get().value() == "v1"); // the others are loaded and served
  CHECK(b.get().code() == errc::not_loaded);
  CHECK(f.reported.size() == 2);
}

TEST_CASE("a load past load_timeout fails its sync as timed out, keeps the last good value and "
          "does not stop the refreshes",
          "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto cfg = every("a", 10s);
  cfg.load_timeout = 2s;
  auto a = f.add(cfg, script);
  f.set->sync(false);
  f.run();
  auto t0 = f.now();
  CHECK(a.status().loading_since == t0);
  CHECK_FALSE(a.status().last_success);
  f.advance(ms(500));
  f.finish_one_load(); // v1 at 500 ms
  CHECK(a.status().last_success == t0 + ms(500));
  CHECK_FALSE(a.status().loading_since);
  f.advance(ms(9500)); // t = 10 s: the refresh starts and hangs (its job is never run)
  REQUIRE(f.loads.queued() == 1);
  auto round = f.set->start_sync(); // joins the hung load
  f.run();
  CHECK(a.status().loading_since == t0 + 10s);
  f.advance(ms(1999));
  CHECK_FALSE(round->ready());
  f.advance(ms(1));
  REQUIRE(round->ready()); // answered at the timeout instead of waiting for the loader
  auto err = round->wait();
  REQUIRE(err);
  CHECK(err->code == errc::timeout);
  CHECK(err->message == "sync: 1 of 1 resources not loaded: 'a' (load timed out after 2000 ms)");
  CHECK(a.get().value() == "v1");
  auto s = a.status();
  CHECK(s.timeouts == 1);
  CHECK(s.failures == 1);
  CHECK(s.consecutive_failures == 1);
  CHECK(s.last_error == "load timed out after 2000 ms");
  CHECK_FALSE(s.loading_since);
  CHECK(s.last_success == t0 + ms(500)); // how stale the value is
  REQUIRE(f.reported.size() == 1);
  CHECK(f.reported[0] == "a: resource 'a': load timed out after 2000 ms (the last good value is "
                         "kept)");
  CHECK(f.reported_codes[0] == errc::timeout);
  // The schedule goes on: the next refresh starts at 20 s although the hung one never returned.
  f.advance(ms(7999));
  CHECK(f.loads.queued() == 1);
  f.advance(ms(1));
  REQUIRE(f.loads.queued() == 2);
  f.finish_one_load(); // the timed-out job had not started: it never calls the loader
  CHECK(script->calls == 1);
  f.finish_one_load();
  CHECK(a.get().value() == "v2");
  CHECK(a.status().consecutive_failures == 0);
  CHECK(a.status().last_success == t0 + 20s);
}

TEST_CASE("a late success is stored unless a newer load succeeded first", "[resources]") {
  fixture f;
  int calls = 0;
  std::function<void()> while_loading; // runs inside the next loader call: "the load takes long"
  auto cfg = every("a", 10s);
  cfg.load_timeout = 2s;
  auto a = f.set->add<std::string>(cfg, [&] {
    ++calls;
    if (auto during = std::exchange(while_loading, nullptr))
      during();
    return "v" + std::to_string(calls);
  });
  SECTION("no newer load: the late value is stored") {
    while_loading = [&] { f.advance(3s); }; // the first load takes 3 s
    auto round = f.set->start_sync();
    f.run();
    f.finish_one_load();
    REQUIRE(round->ready());
    auto err = round->wait();
    REQUIRE(err);
    CHECK(err->code == errc::timeout); // sync was answered at 2 s
    CHECK(a.get().value() == "v1");    // and the value, 1 s late, is kept
    auto s = a.status();
    CHECK(s.timeouts == 1);
    CHECK(s.consecutive_failures == 0); // the late success is a success
    CHECK(s.last_error.empty());
    CHECK(s.last_success == f.now());
    CHECK(f.reported.size() == 1);
  }
  SECTION("a newer load succeeded first: the late value is dropped") {
    f.set->sync(false);
    f.run();
    f.finish_one_load();   // v1
    while_loading = [&] {  // the refresh at 10 s takes 10 s...
      f.advance(10s);      // ...times out at 12 s; the next refresh starts at 20 s...
      f.finish_one_load(); // ...and returns v3 at once
    };
    f.advance(10s);
    f.finish_one_load(); // runs the slow refresh, which returns v2 after v3 is stored
    CHECK(calls == 3);
    CHECK(a.get().value() == "v3");
    CHECK(a.status().timeouts == 1);
    CHECK(a.status().consecutive_failures == 0);
  }
}

TEST_CASE("a second sync joins a load in flight instead of starting another", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  auto first = f.set->start_sync();
  auto second = f.set->start_sync();
  f.run();
  CHECK(f.loads.queued() == 1);
  f.finish_one_load();
  CHECK(first->ready());
  CHECK(second->ready());
  CHECK_FALSE(second->wait());
  // Once idle, a sync loads again at once (a forced refresh).
  auto third = f.set->start_sync();
  f.run();
  CHECK(f.loads.queued() == 1);
  f.finish_one_load();
  CHECK(a.get().value() == "v2");
  CHECK_FALSE(third->wait());
}

TEST_CASE("shutdown stops every refresh and answers every waiter", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto a = f.add(every("a", 1s), script);
  auto round = f.set->start_sync();
  f.run();
  REQUIRE(f.loads.queued() == 1);
  f.set->close();
  caf::anon_send(f.set->actor(), shutdown_atom::value);
  f.run();
  REQUIRE(round->ready());
  auto err = round->wait();
  REQUIRE(err);
  CHECK(err->code == errc::shutting_down);
  CHECK(err->message == "sync: 1 of 1 resources not loaded: 'a' (shutting down)");
  CHECK(a.get().code() == errc::shutting_down);
  CHECK(a.get(1h).code() == errc::shutting_down); // a waiting read is not left hanging
  auto late = f.set->start_sync();                // after close: answered at once
  REQUIRE(late->ready());
  CHECK(late->wait()->code == errc::shutting_down);
  CHECK_THROWS_AS(f.set->add<std::string>(every("b", 1s), [] { return std::string{}; }), failure);
  f.finish_one_load();
  f.advance(10s);
  CHECK(f.loads.queued() == 0);
}

TEST_CASE("a sync message that never reaches the actor still answers its caller", "[resources]") {
  auto round = std::make_shared<sync_round>();
  { sync_ticket dropped{round}; } // as when CAF drops the message of a stopped actor
  REQUIRE(round->ready());
  CHECK(round->wait()->code == errc::shutting_down);
}

TEST_CASE("refresh jitter draws each delay from interval x (1 +/- jitter)", "[resources]") {
  std::vector<double> draws = {0.0, 1.0, 0.5}; // 800 ms, 1200 ms, 1000 ms
  auto next = std::make_shared<std::size_t>(0);
  fixture f{[draws, next] { return draws[(*next)++ % draws.size()]; }};
  auto script = std::make_shared<scripted_resource>();
  auto cfg = every("a", 1s);
  cfg.refresh_jitter = 0.2;
  f.add(cfg, script);
  f.set->sync(false);
  f.run();
  f.finish_one_load();
  for (auto delay : {ms(800), ms(1200), ms(1000)}) {
    f.advance(delay - ms(1));
    CHECK(f.loads.queued() == 0);
    f.advance(ms(1));
    REQUIRE(f.loads.queued() == 1);
    f.finish_one_load();
  }
}

TEST_CASE("the loader gets the previous value, and nullopt keeps it", "[resources]") {
  fixture f;
  std::vector<std::string> seen;
  auto a = f.set->add<std::string>(
      every("a", 1s), [&seen](const std::string* previous) -> std::optional<std::string> {
        seen.push_back(previous ? *previous : "(none)");
        if (previous)
          return std::nullopt; // "not modified"
        return std::string{"etag-1"};
      });
  f.set->sync(false);
  f.run();
  f.finish_one_load();
  f.advance(1s);
  f.finish_one_load();
  CHECK(seen == std::vector<std::string>{"(none)", "etag-1"});
  CHECK(a.get().value() == "etag-1");
  CHECK(a.status().failures == 0);
}

TEST_CASE("a loader returning nullopt before any value is a failed load", "[resources]") {
  fixture f;
  auto a = f.set->add<std::string>(every("a", 1s), [] { return std::optional<std::string>{}; });
  auto round = f.set->start_sync();
  f.run();
  f.finish_one_load();
  REQUIRE(round->ready());
  CHECK_THAT(round->wait()->message, Contains("'a' (the loader returned no value"));
  CHECK(a.get().code() == errc::not_loaded);
}

TEST_CASE("resources refuse duplicate names, bad configs and wrong types", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  f.add(every("a", 1s), script);
  CHECK_THROWS_AS(f.add(every("a", 1s), script), config_error);
  auto bad = every("b", 1s);
  bad.refresh_jitter = 1.0;
  try {
    f.add(bad, script);
    FAIL("a jitter of 1 was accepted");
  } catch (const config_error& e) {
    CHECK(e.path() == "refresh_jitter");
  }
  CHECK_THROWS_AS(f.add(every("", 1s), script), config_error);
  try {
    f.set->get<int>("a");
    FAIL("a string resource was handed out as int");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::type_mismatch);
    CHECK(e.err().message ==
          "resource 'a' holds values of type std::string, requested as type int");
  }
  try {
    f.set->get<std::string>("nope");
    FAIL("an unknown resource was handed out");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::no_such_resource);
    CHECK_THAT(e.err().message, Contains("'nope'"));
  }
}

// -- JSON config -------------------------------------------------------------------------------

TEST_CASE("resources in the JSON config are parsed strictly and round-trip",
          "[resources][config]") {
  auto cfg = parse_config(R"({"resources": [
      {"name": "rates", "loader": "fx", "refresh_interval": "30s", "refresh_jitter": 0.1,
       "error_backoff": "2s", "error_backoff_max": "1m", "load_timeout": "5s"},
      {"name": "flags", "loader": "flags"}]})");
  REQUIRE(cfg.resources.size() == 2);
  CHECK(cfg.resources[0].name == "rates");
  CHECK(cfg.resources[0].loader == "fx");
  CHECK(cfg.resources[0].refresh_interval == 30s);
  CHECK(cfg.resources[0].refresh_jitter == 0.1);
  CHECK(cfg.resources[0].error_backoff == 2s);
  CHECK(cfg.resources[0].error_backoff_max == 1min);
  CHECK(cfg.resources[0].load_timeout == 5s);
  CHECK(cfg.resources[1].refresh_interval == 1min); // defaults
  CHECK(cfg.resources[1].error_backoff == 1s);
  CHECK(cfg.resources[1].load_timeout == 10s);
  auto again = parse_config(to_json(cfg));
  REQUIRE(again.resources.size() == 2);
  CHECK(again.resources[0].refresh_jitter == 0.1);
  CHECK(again.resources[0].error_backoff_max == 1min);
  CHECK(again.resources[0].load_timeout == 5s);
  CHECK(again.resources[1].loader == "flags");

  auto error_of = [](const char* text) {
    try {
      parse_config(text);
    } catch (const config_error& e) {
      return std::string{e.what()};
    }
    return std::string{"(accepted)"};
  };
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "refresh": "1s"}]})") ==
        "resources[0].refresh: unknown key; known keys are name, loader, refresh_interval, "
        "refresh_jitter, error_backoff, error_backoff_max, load_timeout");
  CHECK(error_of(R"({"resources": [{"name": "a"}]})") ==
        "resources[0].loader: required key is missing; expected a string");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": ""}]})") ==
        "resources[0].loader: expected the name of a registered resource loader, found \"\"");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "refresh_interval": -5}]})") ==
        "resources[0].refresh_interval: expected a non-negative duration, found number -5");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "load_timeout": "-1s"}]})") ==
        "resources[0].load_timeout: expected a non-negative duration, found \"-1s\"");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "load_timeout": "100000h"}]})") ==
        "resources[0].load_timeout: expected a duration of at most 10 years (use 0 for "
        "\"never\"), found 100000h");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "refresh_jitter": 1}]})") ==
        "resources[0].refresh_jitter: expected a number in [0, 1), found number 1");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x"},
                                  {"name": "a", "loader": "y"}]})") ==
        "resources[1].name: expected a unique resource name, found \"a\" which resources[0] "
        "already uses");
  CHECK(error_of(R"({"resources": [{"name": "a", "loader": "x", "error_backoff": "5s",
                                    "error_backoff_max": "1s"}]})") ==
        "resources[0].error_backoff_max: expected at least error_backoff (5s), found 1s");
  CHECK(error_of(R"({"resources": {"name": "a"}})") ==
        "resources: expected an array of resource objects, found object");
}

// -- resources-go's tests, ported, on the real runtime -------------------------------------------

namespace {

runtime_config small_runtime() {
  runtime_config cfg;
  cfg.scheduler_threads = 2;
  cfg.loader_threads = 4;
  return cfg;
}

/// A loader that blocks until release(); shared so that it outlives the runtime's pool.
struct held_loader {
  std::promise<void> started;
  std::promise<void> release_promise;
  std::shared_future<void> released = release_promise.get_future().share();
  std::atomic<bool> started_once{false};
  void release() { release_promise.set_value(); }
};

} // namespace

TEST_CASE("resources-go: sync with wait returns an error naming the failing resource, and "
          "the other is served",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  auto a =
      rt.add_resource<std::string>(every("test-a", 1h), [] { return std::string{"test-a-value"}; });
  auto b = rt.add_resource<std::string>(
      every("test-b", 1h), []() -> std::string { throw std::runtime_error("test-b-error"); });
  auto err = rt.sync(true);
  REQUIRE(err);
  CHECK(err->code == errc::load_failed);
  CHECK(err->message == "sync: 1 of 2 resources not loaded: 'test-b' (test-b-error)");
  CHECK(a.get().value() == "test-a-value");
  CHECK(b.get().code() == errc::not_loaded);
  CHECK_THAT(b.get().err().message, Contains("test-b-error"));
}

TEST_CASE("resources-go: sync with wait returns no error when every loader succeeds",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  rt.add_resource<std::string>(every("test-a", 1h), [] { return std::string{"test-a-value"}; });
  rt.add_resource<std::string>(every("test-b", 1h), [] { return std::string{"test-b-value"}; });
  auto err = rt.sync(true);
  CHECK_FALSE(err);
}

TEST_CASE("resources-go: get after sync with wait returns the value", "[resources][runtime]") {
  runtime rt{small_runtime()};
  rt.add_resource<std::string>(every("test-a", 1h), [] { return std::string{"test-a-value"}; });
  REQUIRE_FALSE(rt.sync(true));
  auto r = rt.resource<std::string>("test-a").get();
  REQUIRE(r.ok());
  CHECK(r.value() == "test-a-value");
}

TEST_CASE("resources-go: sync without wait returns at once and serves the value once loaded",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  auto held = std::make_shared<held_loader>();
  auto a = rt.add_resource<std::string>(every("test-a", 1h), [held] {
    held->released.wait();
    return std::string{"test-a-value"};
  });
  CHECK_FALSE(rt.sync(false)); // returns while the loader is still blocked
  CHECK(a.get().code() == errc::not_loaded);
  held->release();
  auto r = a.get(10s); // waits for the first value; no sleep
  REQUIRE(r.ok());
  CHECK(r.value() == "test-a-value");
  CHECK(a.get().value() == "test-a-value");
}

TEST_CASE("resources-go: an immediate get after sync without wait reports not loaded yet",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  auto held = std::make_shared<held_loader>();
  rt.add_resource<std::string>(every("test-a", 1h), [held] {
    held->released.wait();
    return std::string{"test-a-value"};
  });
  rt.sync(false);
  auto r = rt.resource<std::string>("test-a").get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::not_loaded);
  CHECK(r.err().message == "resource 'test-a' is not loaded yet");
  CHECK(rt.resource<std::string>("test-a").get(ms(20)).code() == errc::not_loaded);
  held->release();
}

TEST_CASE("sync loads resources in parallel on the loader pool", "[resources][runtime]") {
  // Each loader waits for the other to start: loading one after another would never finish.
  runtime rt{small_runtime()};
  auto a_started = std::make_shared<std::promise<void>>();
  auto b_started = std::make_shared<std::promise<void>>();
  auto a_seen = a_started->get_future().share();
  auto b_seen = b_started->get_future().share();
  rt.add_resource<int>(every("a", 1h), [a_started, b_seen] {
    a_started->set_value();
    if (b_seen.wait_for(10s) != std::future_status::ready)
      throw std::runtime_error("b never started");
    return 1;
  });
  rt.add_resource<int>(every("b", 1h), [b_started, a_seen] {
    b_started->set_value();
    if (a_seen.wait_for(10s) != std::future_status::ready)
      throw std::runtime_error("a never started");
    return 2;
  });
  auto err = rt.sync(true);
  CHECK_FALSE(err);
}

TEST_CASE("sync_for names the resources still loading when its deadline passes",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  auto held = std::make_shared<held_loader>();
  rt.add_resource<int>(every("fast", 1h), [] { return 1; });
  rt.add_resource<int>(every("slow", 1h), [held] {
    held->released.wait();
    return 2;
  });
  auto err = rt.sync_for(ms(50));
  REQUIRE(err);
  CHECK(err->code == errc::timeout);
  CHECK(err->message == "sync: 1 of 2 resources not loaded: 'slow' (still loading)");
  CHECK(rt.resource<int>("fast").get().value() == 1);
  held->release();
}

TEST_CASE("sync with wait reports a hung resource as timed out instead of waiting for it",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  std::mutex mtx;
  std::vector<errc> reported;
  rt.on_resource_error([&](const std::string&, const error& e) {
    std::lock_guard<std::mutex> guard{mtx};
    reported.push_back(e.code);
  });
  auto held = std::make_shared<held_loader>();
  rt.add_resource<int>(every("fast", 1h), [] { return 1; });
  auto cfg = every("hung", 1h);
  cfg.load_timeout = ms(50);
  auto hung = rt.add_resource<int>(cfg, [held] {
    held->released.wait();
    return 2;
  });
  auto err = rt.sync(true); // returns at the load timeout; it used to wait for the loader
  REQUIRE(err);
  CHECK(err->code == errc::timeout);
  CHECK(err->message == "sync: 1 of 2 resources not loaded: 'hung' (load timed out after 50 ms)");
  CHECK(rt.resource<int>("fast").get().value() == 1);
  {
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(reported == std::vector<errc>{errc::timeout});
  }
  held->release();
  CHECK(hung.get(10s).value() == 2); // the late success is stored (waits for it, no sleep)
}

TEST_CASE("resources from the JSON config use loaders registered by name", "[resources][runtime]") {
  auto cfg = parse_config(R"({"scheduler_threads": 2, "loader_threads": 2, "resources": [
      {"name": "motd", "loader": "motd_loader", "refresh_interval": "1h"}]})");
  SECTION("a registered loader") {
    runtime rt{cfg};
    rt.register_resource_loader<std::string>("motd_loader", [] { return std::string{"hello"}; });
    REQUIRE_FALSE(rt.sync(true));
    CHECK(rt.resource<std::string>("motd").get().value() == "hello");
  }
  SECTION("a loader that is not registered") {
    runtime rt{cfg};
    try {
      rt.sync(true);
      FAIL("sync accepted a resource without a loader");
    } catch (const config_error& e) {
      CHECK(e.path() == "resources[0].loader");
      CHECK_THAT(e.what(), Contains("no resource loader registered under the name 'motd_loader'"));
    }
  }
}

TEST_CASE("runtime shutdown answers a sync still waiting on a hung loader",
          "[resources][runtime]") {
  runtime rt{small_runtime()};
  auto held = std::make_shared<held_loader>();
  auto slow = rt.add_resource<int>(every("slow", 1h), [held] {
    held->released.wait();
    return 2;
  });
  auto round = rt.resources().start_sync();
  rt.shutdown(ms(10));
  auto err = round->wait(); // no hang
  REQUIRE(err);
  CHECK(err->code == errc::shutting_down);
  CHECK(slow.get().code() == errc::shutting_down);
  CHECK(rt.sync(true)->code == errc::shutting_down);
  held->release();
}

TEST_CASE("the error handler may throw, and may not wait for a sync", "[resources]") {
  fixture f;
  auto script = std::make_shared<scripted_resource>();
  auto cfg = every("a", 1s);
  cfg.error_backoff = ms(100);
  auto a = f.add(cfg, script);
  std::vector<std::string> refused;
  f.set->on_error([&](const std::string&, const error&) {
    try {
      f.set->sync(true); // would wait for the actor that runs this handler
    } catch (const std::logic_error& e) {
      refused.push_back(e.what());
    }
    throw std::runtime_error("handler bug");
  });
  f.set->sync(false);
  f.run();
  f.finish_one_load();
  script->failing = true;
  f.advance(1s);
  f.finish_one_load();
  REQUIRE(refused.size() == 1);
  CHECK_THAT(refused[0], Contains("resource error handler"));
  f.advance(ms(100)); // the throwing handler did not stop the retry
  CHECK(f.loads.queued() == 1);
  CHECK(a.get().value() == "v1");
}
