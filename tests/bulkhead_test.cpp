// The bulkhead and the growing loader pool in isolation, and the key actor's use of them on the
// test scheduler (a manual executor decides when each load runs).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <catch2/catch.hpp>

#include "test_fixture.hpp"
#include <corral/examples/start_gate.hpp>
#include <corral/runtime/engine/bulkhead.hpp>
#include <corral/runtime/engine/executor.hpp>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

using gate = corral::examples::start_gate;

/// Counts arrivals; a test waits until n arrived (false after a generous limit: a failure).
class arrivals {
public:
  void arrive() {
    std::lock_guard<std::mutex> guard{mtx_};
    ++count_;
    cv_.notify_all();
  }
  bool wait_for(int n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, 30s, [&] { return count_ >= n; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int count_ = 0;
};

/// Waits until `pred` holds, for a state only a timer changes (the pool's keep-alive): false
/// after a generous limit.
template <class Pred> bool eventually(Pred pred) {
  for (auto give_up = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < give_up; std::this_thread::sleep_for(1ms))
    if (pred())
      return true;
  return pred();
}

cache_config bounded(std::size_t running, std::size_t queued) {
  cache_config c;
  c.ttl = std::chrono::hours(1);
  c.load_timeout = 0s;
  c.max_concurrent_loads = running;
  c.max_queued_loads = queued;
  return c;
}

} // namespace

TEST_CASE("a bulkhead runs at most its bound at once and queues the rest in order", "[bulkhead]") {
  manual_executor pool;
  bulkhead b{pool, 2, 2};
  std::vector<int> ran;
  for (int i = 0; i < 4; ++i)
    CHECK(b.submit([&ran, i] { ran.push_back(i); }) == bulkhead::admission::accepted);
  CHECK(pool.queued() == 2); // only two on the pool
  CHECK(b.running() == 2);
  CHECK(b.queued() == 2);
  bool refused_ran = false;
  CHECK(b.submit([&] { refused_ran = true; }) == bulkhead::admission::overloaded);
  CHECK(pool.run_one()); // job 0 returns: jobs 2 and 3 run in its slot, on its thread, in order
  CHECK(ran == std::vector<int>{0, 2, 3});
  CHECK(b.queued() == 0);
  CHECK(b.running() == 1);
  CHECK(pool.queued() == 1);
  pool.run_all();
  CHECK(ran == std::vector<int>{0, 2, 3, 1});
  CHECK(b.running() == 0);
  CHECK(b.queued() == 0);
  CHECK_FALSE(refused_ran);
}

TEST_CASE("a closed bulkhead drops its queue and refuses new jobs", "[bulkhead]") {
  manual_executor pool;
  bulkhead b{pool, 1, 0}; // 0: the queue is unbounded
  int ran = 0;
  for (int i = 0; i < 5; ++i)
    CHECK(b.submit([&] { ++ran; }) == bulkhead::admission::accepted);
  CHECK(b.queued() == 4);
  b.close();
  CHECK(b.queued() == 0);
  CHECK(b.submit([&] { ++ran; }) == bulkhead::admission::stopped);
  pool.run_all(); // the job already on the pool still runs; it starts nothing after it
  CHECK(ran == 1);
  CHECK(pool.queued() == 0);
}

TEST_CASE("a bulkhead on a stopped pool reports stopped", "[bulkhead]") {
  thread_pool pool{1};
  pool.stop(0ms);
  bulkhead b{pool, 1, 1};
  CHECK(b.submit([] {}) == bulkhead::admission::stopped);
  CHECK(b.running() == 0);
}

TEST_CASE("the loader pool grows while every thread is busy, up to its cap, and shrinks back",
          "[bulkhead][pool]") {
  thread_pool pool{1, 3, 20ms};
  CHECK(pool.threads() == 1);
  gate release;
  arrivals started;
  std::atomic<int> done{0};
  auto blocking = [&] {
    started.arrive();
    release.wait();
    ++done;
  };
  for (int i = 0; i < 3; ++i)
    REQUIRE(pool.submit(blocking));
  REQUIRE(started.wait_for(3)); // three at once on a pool of one warm thread
  CHECK(pool.threads() == 3);
  CHECK(pool.running() == 3);
  REQUIRE(pool.submit(blocking)); // at the cap: it waits for a thread
  CHECK(pool.threads() == 3);
  CHECK(pool.queued() == 1);
  release.open();
  CHECK(eventually([&] { return done == 4; }));
  // The extra threads leave after keep_alive without work; the warm one stays.
  CHECK(eventually([&] { return pool.threads() == 1; }));
  // And it grows again (the exited threads are joined on the way).
  gate again;
  arrivals restarted;
  for (int i = 0; i < 2; ++i)
    REQUIRE(pool.submit([&] {
      restarted.arrive();
      again.wait();
    }));
  REQUIRE(restarted.wait_for(2));
  CHECK(pool.threads() == 2);
  again.open();
  CHECK(pool.stop(5s) == 0);
}

TEST_CASE("stopping a grown pool detaches the workers stuck in a job", "[bulkhead][pool]") {
  thread_pool pool{1, 4, 10s};
  auto release = std::make_shared<gate>(); // outlives the pool: detached workers wait on it
  arrivals started;
  for (int i = 0; i < 3; ++i)
    REQUIRE(pool.submit([release, &started] {
      started.arrive();
      release->wait();
    }));
  REQUIRE(started.wait_for(3));
  CHECK(pool.stop(10ms) == 3); // returns: shutdown never hangs on a hung loader
  CHECK_FALSE(pool.submit([] {}));
  release->open();
}

TEST_CASE("a full bulkhead refuses a load with overloaded, naming cache and key",
          "[bulkhead][key_actor]") {
  auto cfg = bounded(1, 1);
  cfg.name = "tight";
  fixture f{cfg};
  auto a = f.request("a");
  auto b = f.request("b");
  auto c = f.request("c");
  f.run();
  CHECK(f.loads.queued() == 1); // a on the pool, b in the bulkhead's queue, c refused
  CHECK(f.core->metrics_now().gauges.loads_queued == 1);
  REQUIRE(c->results.size() == 1);
  CHECK(c->results[0].code() == errc::overloaded);
  const auto& text = c->results[0].err().message;
  CHECK_THAT(text, Catch::Contains("cache 'tight'"));
  CHECK_THAT(text, Catch::Contains("key 'c'"));
  CHECK_THAT(text, Catch::Contains("max_queued_loads 1"));
  CHECK(f.count(counter::bulkhead_rejections) == 1);
  CHECK(f.count(counter::errors) == 1);
  CHECK(f.core->metrics_now().total.bulkhead_rejections == 1);
  f.finish_one_load(); // a returns; b runs next in its slot
  CHECK(f.core->metrics_now().gauges.loads_queued == 0);
  CHECK(f.loads.queued() == 0);
  REQUIRE(a->results.size() == 1);
  REQUIRE(b->results.size() == 1);
  CHECK(a->results[0].value() == "v:a");
  CHECK(b->results[0].value() == "v:b");
  // The refused key's actor was left with no load in flight: asking again loads it.
  auto again = f.request("c");
  f.run();
  f.finish_one_load();
  REQUIRE(again->results.size() == 1);
  CHECK(again->results[0].value() == "v:c");
}

TEST_CASE("a load running past load_timeout is counted once and held as abandoned_running",
          "[bulkhead][key_actor]") {
  auto cfg = bounded(0, 0);
  cfg.load_timeout = std::chrono::milliseconds(100);
  fixture f{cfg};
  auto waiter = f.request("k");
  f.run();
  running_load hung{f};
  f.advance(std::chrono::milliseconds(100));
  REQUIRE(waiter->results.size() == 1);
  CHECK(waiter->results[0].code() == errc::timeout);
  CHECK(f.count(counter::abandoned_loads) == 1);
  CHECK(f.core->metrics_now().gauges.abandoned_running == 1);
  hung.finish(); // the loader returns at last
  CHECK(f.core->metrics_now().gauges.abandoned_running == 0);
  CHECK(f.count(counter::abandoned_loads) == 1);
  CHECK(f.core->metrics_now().total.abandoned_loads == 1);
}

TEST_CASE("a load abandoned before its job started is not an abandoned running load",
          "[bulkhead][key_actor]") {
  auto cfg = bounded(0, 0);
  cfg.load_timeout = std::chrono::milliseconds(100);
  fixture f{cfg};
  auto waiter = f.request("k");
  f.run();
  f.advance(std::chrono::milliseconds(100)); // still queued: it will skip the loader
  REQUIRE(waiter->results.size() == 1);
  CHECK(f.count(counter::abandoned_loads) == 0);
  CHECK(f.core->metrics_now().gauges.abandoned_running == 0);
  f.finish_one_load();
  CHECK(f.loader->calls.empty());
  CHECK(f.core->metrics_now().gauges.abandoned_running == 0);
}

TEST_CASE("a batch load the bulkhead refuses answers its waiters with overloaded",
          "[bulkhead][batch]") {
  auto cfg = bounded(1, 0);
  cfg.max_queued_loads = 1;
  cfg.batch_window = 0s; // every load is its own batch call
  fixture_options opt;
  opt.batch = wrap_batch_loader<std::string>([](const std::vector<std::string>& keys) {
    std::unordered_map<std::string, result<std::string>> out;
    for (const auto& k : keys)
      out.emplace(k, "b:" + k);
    return out;
  });
  fixture f{cfg, opt};
  auto a = f.request("a");
  f.run();
  auto b = f.request("b");
  f.run();
  auto c = f.request("c");
  f.run();
  REQUIRE(c->results.size() == 1);
  CHECK(c->results[0].code() == errc::overloaded);
  CHECK_THAT(c->results[0].err().message, Catch::Contains("key 'c'"));
  CHECK(f.count(counter::bulkhead_rejections) == 1);
  CHECK(f.count(counter::load_errors) == 0); // not a loader failure: no backoff either
  f.loads.run_all();
  f.run();
  CHECK(a->results.size() == 1);
  CHECK(b->results.size() == 1);
}
