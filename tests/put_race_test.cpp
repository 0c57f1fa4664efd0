// A put and a load of the same key racing: the put must win whenever it returns true, however
// the putting thread is scheduled. A seam (cache_core::before_put_publish) stalls the put just
// before it publishes, as a preempted thread would be, while a load completes meanwhile.
#include <future>
#include <thread>

#include "scripted_store.hpp"
#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

/// Holds a put on its own thread at the seam until release(): the test thread meanwhile drives
/// the actors (it alone touches the test scheduler; the put thread only touches the table).
class stalled_put {
public:
  stalled_put(fixture& f, std::string key, std::string value) : f_(f) {
    auto gate = gate_;
    f.core->before_put_publish = [gate](std::string_view) { gate->park(); };
    worker_ = std::thread([this, &f, key, value] { accepted_ = f.handle.put(key, value); });
    REQUIRE(gate_->arrived_within());
  }
  /// Lets the put publish; returns what put() returned.
  bool release() {
    gate_->release();
    worker_.join();
    f_.core->before_put_publish = nullptr; // not while the put runs it: later puts pass freely
    return accepted_;
  }
  ~stalled_put() {
    if (worker_.joinable())
      release();
  }

private:
  fixture& f_;
  std::shared_ptr<park_gate> gate_ = std::make_shared<park_gate>();
  std::thread worker_;
  bool accepted_ = false;
};

cache_config slow_expiry() {
  cache_config c;
  c.ttl = 1h;
  c.load_timeout = duration::zero();
  c.prune_interval = 1h;
  c.idle_timeout = 1h;
  return c;
}

} // namespace

TEST_CASE("a put stalled before it publishes still wins over a load that finishes meanwhile",
          "[put][race]") {
  fixture f{slow_expiry()};
  stalled_put put{f, "k", "from-put"};
  auto waiter = f.request("k"); // a miss: the key actor starts a load after the put began
  f.run();
  f.finish_one_load(); // the load publishes first
  REQUIRE(waiter->results.size() == 1);
  CHECK(waiter->results[0].value() == "v:k");
  REQUIRE(put.release()); // put() says it stored the value...
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"from-put"}); // ...and it did
}

TEST_CASE("a write-behind put stalled before it publishes wins over a store lookup and is written",
          "[put][race][write_behind]") {
  auto store = std::make_shared<scripted_store>();
  store->rows["k"] = store_record{"k", "old", 1};
  cache_config c = slow_expiry();
  c.write_interval = 1s;
  fixture f{c, fixture_options{false, nullptr, 6, 10s, {}, make_write_behind(store)}};
  stalled_put put{f, "k", "new"};
  f.request("k"); // a miss: the key actor looks the key up in the store ("old")
  f.run();
  f.finish_one_load();
  REQUIRE(put.release());
  CHECK(f.handle.try_get("k") == std::optional<std::string>{"new"});
  CHECK(f.handle.dirty() == 1); // the put is unwritten, so it must be dirty...
  f.advance(1s);                // ...and the next drain writes it
  while (f.writes.run_one())
    f.run();
  CHECK(store->rows["k"].value == "new");
  CHECK(f.handle.dirty() == 0);
}
