// The runtime on real threads: the spike manager's own tests ported, concurrency and hangs.
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <boost/json.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include <corral/examples/start_gate.hpp>
#include <corral/runtime/caf_interop.hpp>
#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/engine/type_name.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace std::chrono_literals;

namespace {

using gate = corral::examples::start_gate;

runtime_config small_runtime(std::size_t loader_threads = 8) {
  runtime_config cfg;
  cfg.scheduler_threads = 2;
  cfg.loader_threads = loader_threads;
  return cfg;
}

cache_config named(std::string name, duration ttl) {
  cache_config c;
  c.name = std::move(name);
  c.ttl = ttl;
  return c;
}

/// Runs `threads` threads, each calling f(thread_index) once after a common start.
template <class F> void run_concurrently(int threads, F f) {
  gate start;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      start.wait();
      f(t);
    });
  start.open();
  for (auto& th : pool)
    th.join();
}

} // namespace

TEST_CASE("spike manager: 4 keys x 8 requesters x 11 waves make 4 loads per TTL window",
          "[runtime][spike]") {
  runtime rt{small_runtime()};
  std::atomic<int> loads{0};
  auto c = rt.make_cache<std::string>(named("prices", 3s), [&](const std::string& k) {
    ++loads;
    std::this_thread::sleep_for(20ms);
    return "price-of-" + k;
  });
  const std::vector<std::string> keys{"a", "b", "c", "d"};
  std::atomic<int> wrong{0};
  auto waves = [&] {
    for (int wave = 0; wave < 11; ++wave) {
      run_concurrently(32, [&](int t) {
        auto& key = keys[t % 4];
        auto r = c.get(key);
        if (!r.ok() || r.value() != "price-of-" + key)
          ++wrong;
      });
      std::this_thread::sleep_for(100ms);
    }
  };
  auto start = std::chrono::steady_clock::now();
  waves();
  CHECK(loads == 4);
  CHECK(wrong == 0);
  // Past the TTL window every key is loaded exactly once more.
  std::this_thread::sleep_until(start + 3s + 100ms);
  waves();
  CHECK(loads == 8);
  CHECK(wrong == 0);
}

TEST_CASE("spike manager: 1000 concurrent random reads return the first values, 6 loads",
          "[runtime][spike]") {
  runtime rt{small_runtime()};
  std::atomic<int> loads{0};
  auto c = rt.make_cache<int>(named("numbers", 1h), [&](const std::string&) {
    return ++loads; // a different value per call: a second load would show
  });
  std::map<std::string, int> first;
  for (int i = 0; i < 6; ++i) {
    auto key = "key" + std::to_string(i);
    first[key] = c.get(key).value();
  }
  std::atomic<int> wrong{0};
  run_concurrently(50, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(t));
    for (int i = 0; i < 20; ++i) {
      auto key = "key" + std::to_string(rng() % 6);
      auto r = c.get(key);
      if (!r.ok() || r.value() != first[key])
        ++wrong;
    }
  });
  CHECK(wrong == 0);
  CHECK(loads == 6);
}

TEST_CASE("lazy loader: ttl 0 loads each key once, forever", "[runtime][spike]") {
  runtime rt{small_runtime()};
  std::atomic<int> loads{0};
  auto zips = rt.make_cache<std::string>(named("zips", 0s), [&](const std::string& zip) {
    ++loads;
    return "city-" + zip;
  });
  for (int round = 0; round < 3; ++round)
    for (auto zip : {"10115", "80331", "20095"})
      CHECK(zips.get(zip).value() == std::string{"city-"} + zip);
  CHECK(loads == 3);
  CHECK(zips.config().ttl == 0s);
}

TEST_CASE("64 threads x 1000 gets over 100 keys with a slow loader make exactly 100 loads",
          "[runtime][stress]") {
  runtime rt{small_runtime(16)};
  std::atomic<int> loads{0};
  auto c = rt.make_cache<std::string>(named("stress", 1h), [&](const std::string& k) {
    ++loads;
    std::this_thread::sleep_for(10ms);
    return "value-" + k;
  });
  std::atomic<int> wrong{0};
  run_concurrently(64, [&](int t) {
    std::mt19937 rng(static_cast<unsigned>(t));
    for (int i = 0; i < 1000; ++i) {
      auto key = std::to_string(rng() % 100);
      auto r = c.get(key);
      if (!r.ok() || r.value() != "value-" + key)
        ++wrong;
    }
  });
  CHECK(wrong == 0);
  CHECK(loads == 100);
  auto n = c.counters();
  CHECK(n[static_cast<std::size_t>(counter::loads)] == 100);
  CHECK(n[static_cast<std::size_t>(counter::hits)] + n[static_cast<std::size_t>(counter::misses)] ==
        64000);
}

TEST_CASE("a loader that hangs past load_timeout leaves no thread waiting", "[runtime][hang]") {
  runtime rt{small_runtime(2)};
  gate release;
  auto cfg = named("hang", 1h);
  cfg.load_timeout = 100ms;
  auto c = rt.make_cache<std::string>(cfg, [&](const std::string&) {
    release.wait(); // hangs until the test ends
    return std::string{"late"};
  });
  std::atomic<int> timeouts{0};
  run_concurrently(16, [&](int t) {
    if (c.get("k" + std::to_string(t % 2)).code() == errc::timeout)
      ++timeouts;
  });
  CHECK(timeouts == 16);
  release.open();
}

TEST_CASE("a request deadline expires without failing the other waiters", "[runtime]") {
  runtime rt{small_runtime()};
  gate release;
  auto c = rt.make_cache<std::string>(named("deadline", 1h), [&](const std::string&) {
    release.wait();
    return std::string{"v"};
  });
  auto patient = std::async(std::launch::async, [&] { return c.get("k"); });
  auto hurried = c.get("k", 50ms);
  CHECK(hurried.code() == errc::timeout);
  release.open();
  CHECK(patient.get().value() == "v");
}

TEST_CASE("asynchronous gets: futures and callbacks", "[runtime]") {
  runtime rt{small_runtime()};
  auto c =
      rt.make_cache<std::string>(named("async", 1h), [](const std::string& k) { return "v-" + k; });
  auto fut = c.get_async("a");
  CHECK(fut.get().value() == "v-a");
  std::promise<result<std::string>> p;
  c.get_async("b", [&](result<std::string> r) { p.set_value(std::move(r)); });
  CHECK(p.get_future().get().value() == "v-b");
  // A hit answers on the calling thread at once.
  auto hit = c.get_async("a");
  CHECK(hit.wait_for(0s) == std::future_status::ready);
}

TEST_CASE("shutdown answers a thread blocked on a hung loader", "[runtime][hang]") {
  gate release;
  auto rt = std::make_unique<runtime>(small_runtime(1));
  auto cfg = named("stuck", 1h);
  cfg.load_timeout = 0s; // wait forever: only shutdown can answer
  auto c = rt->make_cache<std::string>(cfg, [&](const std::string&) {
    release.wait();
    return std::string{"v"};
  });
  auto waiter = std::async(std::launch::async, [&] { return c.get("k"); });
  // Wait until the request is parked (the load has started) before stopping.
  for (int i = 0; i < 1000 && c.counters()[static_cast<std::size_t>(counter::loads)] == 0; ++i)
    std::this_thread::sleep_for(1ms);
  REQUIRE(c.counters()[static_cast<std::size_t>(counter::loads)] == 1);
  rt->shutdown(50ms); // the loader is still stuck: it is abandoned after 50 ms
  CHECK(waiter.get().code() == errc::shutting_down);
  CHECK(c.get("k").code() == errc::shutting_down);
  release.open();
  rt.reset();
}

TEST_CASE("a runtime built from JSON uses loaders registered by name", "[runtime][config]") {
  auto cfg = parse_config(R"({
    "loader_threads": 2,
    "caches": [ { "name": "prices", "loader": "price", "ttl": "1s" },
                { "name": "orphans", "loader": "missing" } ]
  })");
  runtime rt{cfg};
  rt.register_loader<double>("price", [](const std::string& k) { return k.size() * 1.5; });
  auto prices = rt.cache<double>("prices");
  CHECK(prices.get("abcd").value() == 6.0);
  CHECK(prices.config().ttl == 1s);
  CHECK_THROWS_WITH(rt.cache<double>("orphans"),
                    Catch::Contains("caches[1].loader") && Catch::Contains("'missing'"));
  CHECK_THROWS_WITH(rt.cache<double>("nope"), Catch::Contains("no cache named 'nope'"));
  CHECK_THROWS_AS(rt.cache<int>("prices"), failure);
}

namespace {
template <class V> struct empty_tier final : cache_tier<V> {
  std::optional<V> get(const std::string&) override { return std::nullopt; }
  void set(const std::string&, const V&) override {}
  void erase(const std::string&) override {}
};
using string_tier = empty_tier<std::string>;
} // namespace

TEST_CASE("type mismatches name the types as written, not mangled", "[runtime][config]") {
  auto cfg = parse_config(R"({"loader_threads": 2, "caches": [
      {"name": "by_loader", "loader": "text"}, {"name": "by_tier", "tier1": "text_tier"}]})");
  runtime rt{cfg};
  rt.register_loader<std::string>("text", [](const std::string& k) { return k; });
  rt.register_tier<std::string>("text_tier", std::make_shared<string_tier>());
  CHECK_THROWS_WITH(rt.cache<double>("by_loader"),
                    "caches[0].loader: loader 'text' produces std::string, cache requested as "
                    "double");
  CHECK_THROWS_WITH(rt.cache<double>("by_tier"),
                    "caches[1].tier1: tier 'text_tier' holds std::string, cache requested as "
                    "double");
  rt.make_cache<std::string>(named("made", 1h), [](const std::string& k) { return k; });
  CHECK_THROWS_WITH(rt.cache<double>("made"),
                    "cache 'made' holds values of type std::string, requested as type double");
}

TEST_CASE("configured loaders, tiers and resource loaders are checked at sync, all at once",
          "[runtime][config]") {
  auto cfg = parse_config(R"({"loader_threads": 2, "caches": [
      {"name": "ok", "loader": "price"},
      {"name": "orphan", "loader": "nope"},
      {"name": "tiered", "loader": "price", "tier1": "missing_tier"},
      {"name": "mixed", "loader": "price", "tier1": "text_tier"}],
    "resources": [{"name": "motd", "loader": "motd_loader"}]})");
  runtime rt{cfg};
  rt.register_loader<double>("price", [](const std::string& k) { return k.size() * 1.0; });
  rt.register_tier<std::string>("text_tier", std::make_shared<string_tier>());
  const std::string all = "caches[1].loader: no loader registered under the name 'nope'\n"
                          "caches[2].tier1: no tier registered under the name 'missing_tier'\n"
                          "caches[3].tier1: tier 'text_tier' holds std::string, loader 'price' "
                          "produces double\n"
                          "resources[0].loader: no resource loader registered under the name "
                          "'motd_loader'";
  try {
    rt.sync(true);
    FAIL("sync accepted caches whose loaders and tiers are not registered");
  } catch (const config_error& e) {
    CHECK(e.path() == "caches[1].loader");
    CHECK(std::string(e.what()) == all);
  }
  // check() is the same test without loading anything; problems() has them one by one.
  try {
    rt.check();
    FAIL("check accepted caches whose loaders and tiers are not registered");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) == all);
    REQUIRE(e.problems().size() == 4);
    CHECK(e.problems()[2].path == "caches[3].tier1");
    CHECK(e.problems()[3].path == "resources[0].loader");
  }
  // A cache checks only its own names: the good one can be used, the others name both faults.
  CHECK(rt.cache<double>("ok").get("abc").value() == 3.0);
  CHECK_THROWS_WITH(rt.cache<double>("tiered"),
                    "caches[2].tier1: no tier registered under the name 'missing_tier'");
  CHECK_THROWS_WITH(rt.cache<double>("mixed"), "caches[3].tier1: tier 'text_tier' holds "
                                               "std::string, cache requested as double");
  // Once everything is registered, check() and sync() pass.
  rt.register_loader<double>("nope", [](const std::string&) { return 0.0; });
  rt.register_tier<double>("missing_tier", std::make_shared<empty_tier<double>>());
  rt.register_tier<double>("text_tier", std::make_shared<empty_tier<double>>());
  rt.register_resource_loader<std::string>("motd_loader", [] { return std::string{"hi"}; });
  CHECK_NOTHROW(rt.check());
  CHECK_FALSE(rt.sync(true));
  CHECK(rt.cache<double>("mixed").get("ab").value() == 2.0);
}

TEST_CASE("a cache's store built in code is checked when the runtime is constructed",
          "[runtime][config]") {
  auto cfg = small_runtime();
  cfg.caches.push_back(named("fine", 1h));
  cfg.caches.push_back(named("stored", 1h));
  cfg.caches[1].store = boost::json::parse(R"({"type": "sqlite"})");
  CHECK_THROWS_WITH(runtime{cfg}, Catch::StartsWith("caches[1].store.path: "));
  CHECK_THROWS_WITH(validate(cfg), Catch::StartsWith("caches[1].store.path: "));
  cfg.caches[1].store = boost::json::value(5);
  CHECK_THROWS_WITH(runtime{cfg}, "caches[1].store: expected a store object, found number 5");
}

TEST_CASE("type_name demangles and spells std::string as written", "[runtime]") {
  CHECK(type_name(typeid(double)) == "double");
  CHECK(type_name(typeid(std::string)) == "std::string");
  CHECK(type_name(typeid(std::vector<std::string>)) ==
        "std::vector<std::string, std::allocator<std::string> >");
  CHECK(type_name(typeid(string_tier)) == "(anonymous namespace)::empty_tier<std::string>");
}

TEST_CASE("CAF actors reach a runtime cache through its actor handle", "[runtime][messages]") {
  runtime rt{small_runtime()};
  auto c =
      rt.make_cache<std::string>(named("msg", 1h), [](const std::string& k) { return "v-" + k; });
  caf::scoped_actor self{rt.system()};
  std::string got;
  self->request(corral::actor_of(rt, "msg"), 5s, get_atom::value, std::string{"x"})
      .receive([&](const std::string& bytes) { got = bytes; },
               [&](caf::error& e) { FAIL(rt.system().render(e)); });
  CHECK(got == "v-x");
  cache_status st;
  self->request(corral::actor_of(c), 5s, status_atom::value)
      .receive([&](const cache_status& s) { st = s; },
               [&](caf::error& e) { FAIL(rt.system().render(e)); });
  CHECK(st.cache == "msg");
  CHECK(st.entries == 1);
}

TEST_CASE("a stopped runtime refuses new caches and its handles fail cleanly", "[runtime][hang]") {
  auto rt = std::make_unique<runtime>(small_runtime());
  auto c =
      rt->make_cache<std::string>(named("late", 1h), [](const std::string& k) { return "v-" + k; });
  rt->shutdown();
  CHECK_THROWS_WITH(rt->make_cache<std::string>(named("new", 1h)),
                    Catch::Contains("runtime is shut down"));
  rt.reset(); // must not hang: no supervisor was spawned after shutdown
  // The handle outlives the runtime: nothing it does may touch the runtime's clock or actors.
  CHECK(c.get("k", 10ms).code() == errc::shutting_down);
  CHECK(c.get("k").code() == errc::shutting_down);
  CHECK_FALSE(c.put("k", "v"));
  CHECK_FALSE(c.invalidate("k"));
  CHECK_FALSE(c.try_get("k").has_value());
}

TEST_CASE("durations as long as duration::max() do not overflow", "[runtime]") {
  runtime rt{small_runtime()};
  auto c =
      rt.make_cache<std::string>(named("long", 1h), [](const std::string& k) { return "v-" + k; });
  CHECK(c.get("k", duration::max()).value() == "v-k");
  CHECK(c.get_async("j", duration::max()).get().value() == "v-j");
  auto too_long = named("too-long", std::chrono::hours(24 * 365 * 11));
  CHECK_THROWS_WITH(rt.make_cache<std::string>(too_long),
                    Catch::Contains("ttl") && Catch::Contains("at most 10 years"));
}

namespace {
/// A value whose copy throws once armed: delivering it must not terminate the process.
struct fragile {
  static inline std::atomic<bool> armed{false};
  fragile() = default;
  fragile(const fragile&) {
    if (armed)
      throw std::runtime_error("copy refused");
  }
  fragile(fragile&&) noexcept = default;
  fragile& operator=(const fragile&) = default;
};
} // namespace

TEST_CASE("a value whose copy throws fails that request instead of the process", "[runtime]") {
  runtime rt{small_runtime()};
  auto c = rt.make_cache<fragile>(named("fragile", 1h), [](const std::string&) {
    fragile::armed = true; // the loader's own return is a move; the copy to the waiter throws
    return fragile{};
  });
  auto r = c.get("k");
  fragile::armed = false;
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("copy refused") != std::string::npos);
}

TEST_CASE("the runtime reports metrics per cycle, by message, as JSON and as Prometheus",
          "[runtime][metrics]") {
  auto cfg = small_runtime();
  cfg.metrics_cycle = 50ms;
  cfg.metrics_windows = 2;
  runtime rt{cfg};
  auto c = rt.make_cache<std::string>(named("m", 1h), [](const std::string& k) { return k; });
  std::promise<metrics_snapshot> seen;
  std::atomic<bool> delivered{false};
  rt.on_metrics([&](const metrics_snapshot& s) {
    if (s.cache == "m" && s.cycle.requests >= 2 && !delivered.exchange(true))
      seen.set_value(s);
  });
  REQUIRE(c.get("a").ok()); // a miss
  REQUIRE(c.get("a").ok()); // a hit
  auto fut = seen.get_future();
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  rt.on_metrics({}); // before `seen` goes out of scope
  auto s = fut.get();
  CHECK(s.cycle.misses == 1);
  CHECK(s.cycle.hits == 1);
  CHECK(s.cycle.loads == 1);

  caf::scoped_actor self{rt.system()};
  metrics_snapshot by_message;
  self->request(corral::actor_of(c), 5s, metrics_atom::value)
      .receive([&](const metrics_snapshot& m) { by_message = m; },
               [&](caf::error& e) { FAIL(rt.system().render(e)); });
  CHECK(by_message.total.requests == 2);

  auto all = rt.metrics();
  REQUIRE(all.size() == 1);
  auto json = boost::json::parse(to_json(all));
  CHECK(json.as_array().at(0).at("total").at("requests").as_int64() == 2);
  CHECK(to_prometheus(all).find("corral_requests_total{cache=\"m\"} 2\n") != std::string::npos);
  CHECK(c.metrics().total.hits == 1);
}

TEST_CASE("a runtime runs on either scheduler policy", "[runtime]") {
  for (const char* policy : {"sharing", "stealing"}) {
    corral::runtime_config cfg;
    cfg.scheduler_policy = policy;
    corral::runtime rt{cfg};
    corral::cache_config c;
    c.name = "c";
    auto cache = rt.make_cache<std::string>(c, [](const std::string& k) { return "v:" + k; });
    auto r = cache.get("k", std::chrono::seconds(10));
    REQUIRE(r.ok());
    CHECK(r.value() == "v:k");
    auto* sharing = dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(
        &rt.system().scheduler());
    CHECK((sharing != nullptr) == (std::string{policy} == "sharing"));
  }
}
