// The tier-1 write-back may be slow I/O: while it runs, no epoch guard may be held, or memory
// retired by every cache in the process would wait for it. A tier whose set() blocks until
// released checks that an object retired meanwhile can be reclaimed.
#include <future>
#include <thread>

#include "test_fixture.hpp"
#include <corral/runtime/engine/epoch.hpp>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

/// A tier with nothing in it whose set() parks its thread until released, once armed.
struct parking_tier final : cache_tier<std::string> {
  std::shared_ptr<park_gate> gate; // armed when set
  std::optional<std::string> get(const std::string&) override { return std::nullopt; }
  void set(const std::string&, const std::string&) override {
    if (gate)
      gate->park();
  }
  void erase(const std::string&) override {}
};

/// Retires an object now and reports whether reclamation could free it. Each object carries its
/// own flag: one retired by an earlier case may be freed late, and must not answer for this one.
bool retired_object_is_reclaimed() {
  struct marker {
    std::shared_ptr<std::atomic<bool>> freed = std::make_shared<std::atomic<bool>>(false);
  };
  auto* m = new marker;
  auto freed = m->freed;
  detail::epoch_domain::instance().retire(m, [](void* p) {
    auto* mine = static_cast<marker*>(p);
    *mine->freed = true;
    delete mine;
  });
  for (int i = 0; i < 3 && !*freed; ++i) // each pass may advance the epoch one step
    detail::epoch_domain::instance().reclaim();
  return *freed;
}

/// Runs the oldest queued pool job on a second thread, which parks inside tier 1's set().
struct parked_write_back {
  explicit parked_write_back(fixture& f, parking_tier& tier)
      : gate(tier.gate = std::make_shared<park_gate>()) {
    worker = std::thread([&f] { f.loads.run_one(); });
    REQUIRE(gate->arrived_within());
  }
  ~parked_write_back() {
    gate->release();
    worker.join();
  }
  std::shared_ptr<park_gate> gate;
  std::thread worker;
};

cache_config config() {
  cache_config c;
  c.ttl = 10s;
  c.refresh_after = 1s;
  c.load_timeout = duration::zero();
  c.prune_interval = 1h;
  c.idle_timeout = 1h;
  return c;
}

} // namespace

TEST_CASE("a key actor's tier-1 write-back holds no epoch guard while tier 1 stores",
          "[two_tier][epoch]") {
  auto tier = std::make_shared<parking_tier>();
  fixture f{config(), true, erase_tier<std::string>(tier)};
  auto w = f.request("k");
  f.run();
  f.finish_one_load(); // the requester is answered; the write-back is queued on the pool
  REQUIRE(w->results.size() == 1);
  REQUIRE(f.loads.queued() == 1);
  parked_write_back parked{f, *tier};
  CHECK(retired_object_is_reclaimed());
}

TEST_CASE("a background refresh's tier-1 write-back holds no epoch guard while tier 1 stores",
          "[two_tier][epoch][refresh]") {
  auto tier = std::make_shared<parking_tier>();
  fixture f{config(), true, erase_tier<std::string>(tier)};
  f.load("k");
  REQUIRE(f.loads.run_one()); // the first write-back, before the tier is armed
  f.advance(1s);
  CHECK(f.handle.try_get("k").has_value()); // due: a direct refresh, which writes back itself
  REQUIRE(f.loads.queued() == 1);
  parked_write_back parked{f, *tier};
  CHECK(retired_object_is_reclaimed());
}
