// USE metrics and two-tier loads: the singleflight_cache scenarios, on the test clock.
#include <map>
#include <stdexcept>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;
using std::chrono::seconds;

namespace {

cache_config no_timers() {
  cache_config c;
  c.ttl = std::chrono::hours(1);
  c.load_timeout = duration::zero();
  c.prune_interval = std::chrono::hours(1);
  c.idle_timeout = std::chrono::hours(1);
  return c;
}

/// A tier-1 cache held in a map; calls take `cost` of test time; `broken` keys throw.
struct map_tier final : cache_tier<std::string> {
  fixture* f = nullptr;
  duration cost{0};
  std::function<bool(const std::string&)> broken = [](const std::string&) { return false; };
  std::map<std::string, std::string> data;
  std::vector<std::string> erased;

  std::optional<std::string> get(const std::string& key) override {
    f->spend(cost);
    if (broken(key))
      throw std::runtime_error("tier 1 down for " + key);
    auto i = data.find(key);
    return i == data.end() ? std::nullopt : std::optional<std::string>{i->second};
  }
  void set(const std::string& key, const std::string& value) override { data[key] = value; }
  void erase(const std::string& key) override {
    erased.push_back(key);
    data.erase(key);
  }
};

struct two_tier {
  std::shared_ptr<map_tier> tier = std::make_shared<map_tier>();
  fixture f;
  explicit two_tier(cache_config cfg) : f(cfg, true, erase_tier<std::string>(tier)) {
    tier->f = &f;
  }
};

} // namespace

TEST_CASE("singleflight_cache's README scenario: 81 tier-1 hits, 17 source loads, 2 errors",
          "[metrics][two_tier]") {
  two_tier t{no_timers()};
  auto& f = t.f;
  // Tier 1 takes 1 s and fails for the 19 keys containing "1"; the source takes 3 s and fails
  // for "12" and "21".
  t.tier->cost = seconds(1);
  t.tier->broken = [](const std::string& k) { return k.find('1') != std::string::npos; };
  for (int i = 0; i < 100; ++i)
    t.tier->data[std::to_string(i)] = "tier:" + std::to_string(i);
  f.loader->script = [&](const std::string& k) -> std::optional<std::string> {
    f.spend(seconds(3));
    if (k == "12" || k == "21")
      throw std::runtime_error("source down");
    return "source:" + k;
  };
  std::vector<std::shared_ptr<recording_sink>> sinks;
  for (int i = 0; i < 100; ++i)
    sinks.push_back(f.request(std::to_string(i))); // 100 concurrent requests
  f.run();
  REQUIRE(f.loads.queued() == 100);
  while (f.loads.run_one())
    f.run();
  int ok = 0, failed = 0;
  for (auto& s : sinks) {
    REQUIRE(s->results.size() == 1);
    (s->results[0].ok() ? ok : failed) += 1;
  }
  CHECK(ok == 98);
  CHECK(failed == 2);

  auto w = f.core->metrics_now().last;
  CHECK(w.requests == 100);
  CHECK(w.tier1_hits == 81);
  CHECK(w.tier1_errors == 19);
  CHECK(w.source_loads == 17);
  CHECK(w.source_errors == 2);
  CHECK(w.errors == 2);
  CHECK(w.tier1_hit_rate == Approx(0.81));
  CHECK(w.error_rate == Approx(0.02));
  CHECK(w.loads == 100);
  // Averages match the simulated durations exactly: tier 1 1 s, source 3 s, and a load is
  // 1 s (tier-1 hit) or 4 s (tier 1, then the source).
  CHECK(w.tier1_time.avg_ns == 1'000'000'000u);
  CHECK(w.source_time.avg_ns == 3'000'000'000u);
  CHECK(w.load_time.avg_ns == (81ull * 1'000'000'000ull + 19ull * 4'000'000'000ull) / 100ull);
  CHECK(w.load_time.max_ns == 4'000'000'000u);
  CHECK(w.load_time.p99_ns == Approx(4e9).epsilon(0.2));
  // Tier-1 values were stored without calling the source; source values were written back.
  CHECK(f.handle.try_get("5") == std::optional<std::string>{"tier:5"});
  CHECK(f.handle.try_get("13") == std::optional<std::string>{"source:13"});
  CHECK(t.tier->data["13"] == "source:13");
}

TEST_CASE("singleflight_cache's window test: last, then cycle, then nothing",
          "[metrics][windows]") {
  fixture f{no_timers(), true, nullptr, 2, seconds(10)};
  f.start_metrics(seconds(10));
  f.core->count(counter::hits, 10);
  f.core->count(counter::misses, 6);
  f.core->count(counter::errors, 3);
  f.core->count(counter::invalidations, 2);
  auto check_counts = [](const window_stats& w, std::uint64_t scale) {
    CHECK(w.hits == 10 * scale);
    CHECK(w.misses == 6 * scale);
    CHECK(w.errors == 3 * scale);
    CHECK(w.manual_misses == 2 * scale);
    CHECK(w.requests == 19 * scale); // manual misses are not requests
    CHECK(w.hit_rate == Approx(scale ? 10.0 / 19 : 0));
    CHECK(w.error_rate == Approx(scale ? 3.0 / 19 : 0));
  };
  auto s = f.core->metrics_now();
  check_counts(s.last, 1);
  check_counts(s.cycle, 0);
  f.advance(seconds(10)); // first fold
  s = f.core->metrics_now();
  CHECK(s.completed_windows == 1);
  check_counts(s.last, 0);
  check_counts(s.cycle, 1);
  f.advance(seconds(10)); // the cycle still holds it: it sums the last 2 windows
  check_counts(f.core->metrics_now().cycle, 1);
  f.advance(seconds(10)); // 2 windows after it was completed, it leaves the cycle
  s = f.core->metrics_now();
  check_counts(s.last, 0);
  check_counts(s.cycle, 0);
  check_counts(s.total, 1);
}

TEST_CASE("coalesced requesters are each counted once, empty windows have zero rates",
          "[metrics]") {
  fixture f{no_timers()};
  auto empty = f.core->metrics_now().last;
  CHECK(empty.requests == 0);
  CHECK(empty.hit_rate == 0);
  CHECK(empty.error_rate == 0);
  f.handle.invalidate("nothing"); // a manual miss alone must not make a rate negative or NaN
  CHECK(f.core->metrics_now().last.hit_rate == 0);
  for (int i = 0; i < 5; ++i)
    f.request("k");
  f.run();
  f.finish_one_load();
  for (int i = 0; i < 3; ++i)
    CHECK(f.handle.get_async("k").get().ok());
  auto w = f.core->metrics_now().last;
  CHECK(w.loads == 1);
  CHECK(w.misses == 5);
  CHECK(w.hits == 3);
  CHECK(w.requests == 8);
  CHECK(w.hit_rate == Approx(3.0 / 8));
  CHECK(w.miss_rate == Approx(5.0 / 8));
}

TEST_CASE("the per-cycle callback gets every cycle's snapshot", "[metrics][windows]") {
  fixture f{no_timers(), true, nullptr, 3, seconds(1)};
  std::vector<metrics_snapshot> seen;
  f.start_metrics(seconds(1), [&](const metrics_snapshot& s) { seen.push_back(s); });
  f.handle.put("k", "v");
  CHECK(f.handle.get_async("k").get().ok());
  f.advance(seconds(1));
  f.advance(seconds(1));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].cache == "test");
  CHECK(seen[0].cycle.hits == 1);
  CHECK(seen[0].cycle.puts == 1);
  CHECK(seen[1].last.requests == 0);
  CHECK(seen[1].completed_windows == 2);
}

TEST_CASE("gauges show loads in flight and parked waiters", "[metrics]") {
  fixture f{no_timers()};
  f.request("a");
  f.request("a");
  f.request("b");
  f.run();
  auto g = f.core->metrics_now().gauges;
  CHECK(g.loads_in_flight == 2);
  CHECK(g.parked_waiters == 3);
  f.loads.run_all();
  f.run();
  g = f.core->metrics_now().gauges;
  CHECK(g.loads_in_flight == 0);
  CHECK(g.parked_waiters == 0);
  CHECK(g.entries == 2);
}

TEST_CASE("a source value is written back to tier 1 after the requesters are answered",
          "[two_tier]") {
  two_tier t{no_timers()};
  auto w = t.f.request("k");
  t.f.run();
  t.f.finish_one_load(); // runs only the load job
  REQUIRE(w->results.size() == 1);
  CHECK(w->results[0].value() == "v:k");
  CHECK(t.tier->data.count("k") == 0); // the write-back is a job of its own
  REQUIRE(t.f.loads.run_one());
  CHECK(t.tier->data["k"] == "v:k");
  CHECK(t.f.count(counter::tier1_misses) == 1);
}

TEST_CASE("invalidate erases tier 1 before the in-memory entry, on both paths", "[two_tier]") {
  two_tier t{no_timers()};
  t.f.handle.put("k", "v");
  t.tier->data["k"] = "v";
  CHECK(t.f.handle.invalidate("k"));
  CHECK(t.tier->erased == std::vector<std::string>{"k"});
  CHECK_FALSE(t.f.handle.try_get("k").has_value());

  // Through a message, tier 1 is erased on the loader pool, and only then the entry goes.
  t.f.handle.put("m", "v");
  t.tier->data["m"] = "v";
  bool done = false;
  auto cache_ref = caf::actor_cast<cache_actor>(t.f.core->supervisor);
  spawn_client(t.f.sys, [&](caf::event_based_actor* self) {
    self->request(cache_ref, caf::infinite, invalidate_atom::value, std::string{"m"})
        .then([&](ok_atom) { done = true; });
  });
  t.f.run();
  CHECK_FALSE(done);
  CHECK(t.f.handle.try_get("m").has_value());
  REQUIRE(t.f.loads.run_one());
  t.f.run();
  CHECK(done);
  CHECK(t.tier->data.count("m") == 0);
  CHECK_FALSE(t.f.handle.try_get("m").has_value());
  CHECK(t.f.count(counter::invalidations) == 2);
}

TEST_CASE("latency quantiles never understate and never exceed the maximum", "[metrics]") {
  histogram_counts h;
  atomic_histogram live;
  for (int i = 0; i < 99; ++i)
    live.record(50'000'000); // 50 ms
  live.record(50'200'000);
  h = live.snapshot();
  CHECK(h.quantile(0.5) >= 50'000'000u);
  CHECK(h.quantile(0.99) >= 50'000'000u);
  CHECK(h.quantile(0.99) <= h.max_ns);
  CHECK(h.max_ns == 50'200'000u);
  CHECK(h.average() == (99ull * 50'000'000ull + 50'200'000ull) / 100ull);
  for (std::uint64_t v : {1ull, 3ull, 4ull, 5ull, 1000ull, 123'456'789ull, 1ull << 62}) {
    auto i = latency_buckets::index_of(v);
    CHECK(latency_buckets::lower(i) <= v);
    CHECK(v < latency_buckets::lower(i + 1));
  }
}

TEST_CASE("a request is counted before its requester is answered", "[metrics]") {
  fixture f{no_timers()};
  std::uint64_t counted_when_answered = 0;
  auto sink = std::make_shared<callback_sink<std::string>>(
      [&](result<std::string>) { counted_when_answered = f.core->metrics_now().last.requests; });
  f.core->send_to_key(
      "k", local_get_msg{"k", std::make_shared<reply_token>(sink, "k"), time_point::max()});
  f.run();
  f.finish_one_load();
  CHECK(counted_when_answered == 1);
}

TEST_CASE("requests answered by shutdown are counted as errors", "[metrics]") {
  fixture f{no_timers()};
  auto w = f.request("k");
  f.run();
  caf::anon_send(f.core->supervisor, shutdown_atom::value);
  f.run();
  REQUIRE(w->results.size() == 1);
  auto m = f.core->metrics_now().last;
  CHECK(m.requests == 1);
  CHECK(m.errors == 1);
}

TEST_CASE("a write-back never brings back a value that was invalidated or superseded",
          "[two_tier]") {
  two_tier t{no_timers()};
  t.f.request("k");
  t.f.run();
  t.f.finish_one_load(); // the source value is published; its write-back is queued
  REQUIRE(t.f.loads.queued() == 1);
  CHECK(t.f.handle.invalidate("k")); // the application changed the source and invalidates
  REQUIRE(t.f.loads.run_one());      // the stale write-back runs now
  CHECK(t.tier->data.count("k") == 0);

  t.f.load("j");
  t.f.handle.put("j", "newer"); // a newer put supersedes the loaded value
  REQUIRE(t.f.loads.run_one());
  CHECK(t.tier->data.count("j") == 0);
  CHECK(t.f.handle.try_get("j") == std::optional<std::string>{"newer"});
}

TEST_CASE("a request dropped with its message at shutdown is still counted", "[metrics]") {
  fixture f{no_timers()};
  caf::anon_send(f.core->supervisor, shutdown_atom::value); // queued, not yet handled
  auto fut = f.handle.get_async("k");                       // queued behind it
  f.run(); // the supervisor stops; the get's message is dropped with its mailbox
  REQUIRE(fut.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(fut.get().code() == errc::shutting_down);
  auto m = f.core->metrics_now().last;
  CHECK(m.requests == 1);
  CHECK(m.errors == 1);
  CHECK(f.handle.get_async("again").get().code() == errc::shutting_down); // closed handle
  CHECK(f.core->metrics_now().last.errors == 2);
}
