// Bulkheads on real threads: a cache whose loaders hang holds a bounded share of the loader
// pool, never all of it. Hung loaders block on a gate the test opens at the end; the tests wait
// for loaders to start on a latch, never on a sleep.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <corral/examples/start_gate.hpp>
#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace std::chrono_literals;

namespace {

using gate = corral::examples::start_gate;

/// Counts loaders that have started, so that a test can wait until n of them run.
class started_latch {
public:
  void arrive() {
    std::lock_guard<std::mutex> guard{mtx_};
    ++count_;
    cv_.notify_all();
  }
  /// Waits until `n` arrived; false after `limit` (a failure, not a synchronisation).
  bool wait_for(int n, duration limit = 30s) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, limit, [&] { return count_ >= n; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int count_ = 0;
};

/// Opens a gate when the test leaves, also on a failed REQUIRE, so that no loader stays hung
/// and the runtime's shutdown does not wait for one. Declare it after the runtime, and again
/// after a vector of std::async futures (whose destructors wait for their threads).
struct open_on_exit {
  gate& g;
  ~open_on_exit() { g.open(); }
};

runtime_config small_runtime(std::size_t loader_threads) {
  runtime_config cfg;
  cfg.scheduler_threads = 2;
  cfg.loader_threads = loader_threads;
  return cfg;
}

cache_config named(std::string name) {
  cache_config c;
  c.name = std::move(name);
  c.ttl = 1h;
  return c;
}

/// Starts `n` gets of distinct keys on `c` from their own threads; they end when `release`
/// opens (or at their load_timeout).
template <class Cache>
std::vector<std::future<result<std::string>>> hang_keys(Cache& c, int n, const std::string& p) {
  std::vector<std::future<result<std::string>>> out;
  for (int i = 0; i < n; ++i)
    out.push_back(
        std::async(std::launch::async, [&c, key = p + std::to_string(i)] { return c.get(key); }));
  return out;
}

/// Waits (bounded) until `c`'s bulkhead queue holds `n` loads: the queue is filled by key actors
/// on CAF's threads, in no order the test controls.
template <class Cache> bool wait_for_queued(Cache& c, std::uint64_t n) {
  auto give_up = std::chrono::steady_clock::now() + 30s;
  while (c.metrics().gauges.loads_queued != n)
    if (std::chrono::steady_clock::now() > give_up)
      return false;
    else
      std::this_thread::yield();
  return true;
}

/// Hangs every loader thread of `loader_threads` (the slow cache's whole default bulkhead) and
/// checks that `gets` misses on a second cache still load.
void check_hung_cache_leaves_threads(std::size_t loader_threads, int gets) {
  gate release;
  started_latch started;
  runtime rt{small_runtime(loader_threads)};
  open_on_exit opener{release};
  auto slow_cfg = named("slow");
  slow_cfg.load_timeout = 0s; // the waiters wait for the gate: the threads stay taken
  auto slow = rt.make_cache<std::string>(slow_cfg, [&](const std::string&) {
    started.arrive();
    release.wait();
    return std::string{"late"};
  });
  auto fast =
      rt.make_cache<std::string>(named("fast"), [](const std::string& k) { return "v-" + k; });
  auto n = static_cast<int>(loader_threads);
  auto hung = hang_keys(slow, n, "h");
  open_on_exit unblock_hung{release}; // before `hung` waits for its threads
  REQUIRE(started.wait_for(n));       // every warm loader thread is in a hung load
  // Misses on the other cache still load; the deadline only turns a hang into a failure.
  for (int i = 0; i < gets; ++i) {
    auto key = "k" + std::to_string(i);
    auto r = fast.get(key, 5s);
    REQUIRE(r.ok());
    CHECK(r.value() == "v-" + key);
  }
  release.open();
  for (auto& f : hung)
    CHECK(f.get().value() == "late");
}

} // namespace

TEST_CASE("hung loaders in one cache leave the loader pool to the other caches",
          "[runtime][bulkhead]") {
  check_hung_cache_leaves_threads(4, 20);
}

TEST_CASE("within a cache, hung keys fewer than the bulkhead leave other keys loading",
          "[runtime][bulkhead]") {
  gate release;
  started_latch started;
  runtime rt{small_runtime(4)};
  open_on_exit opener{release};
  auto cfg = named("mixed");
  cfg.load_timeout = 0s;
  cfg.max_concurrent_loads = 6; // more than the warm threads: the pool grows for the rest
  auto c = rt.make_cache<std::string>(cfg, [&](const std::string& k) {
    if (k.rfind("h", 0) == 0) {
      started.arrive();
      release.wait();
    }
    return "v-" + k;
  });
  auto hung = hang_keys(c, 4, "h");   // as many as loader_threads
  open_on_exit unblock_hung{release}; // before `hung` waits for its threads
  REQUIRE(started.wait_for(4));
  for (int i = 0; i < 20; ++i) {
    auto key = "k" + std::to_string(i);
    auto r = c.get(key, 5s);
    REQUIRE(r.ok());
    CHECK(r.value() == "v-" + key);
  }
  release.open();
  for (auto& f : hung)
    CHECK(f.get().ok());
}

TEST_CASE("a saturated bulkhead queues up to max_queued_loads and refuses beyond",
          "[runtime][bulkhead]") {
  gate release;
  started_latch started;
  runtime rt{small_runtime(4)};
  open_on_exit opener{release};
  auto cfg = named("narrow");
  cfg.load_timeout = 0s;
  cfg.max_concurrent_loads = 2;
  cfg.max_queued_loads = 1;
  auto c = rt.make_cache<std::string>(cfg, [&](const std::string& k) {
    started.arrive();
    release.wait();
    return "v-" + k;
  });
  auto hung = hang_keys(c, 2, "h");
  open_on_exit unblock_hung{release}; // before `hung` waits for its threads
  REQUIRE(started.wait_for(2));
  auto queued = c.get_async("q"); // waits for a slot
  REQUIRE(wait_for_queued(c, 1)); // "q" holds the queue's one place before "r" asks
  // Answered at once: the bulkhead is full, so the load is refused rather than parked.
  auto refused = c.get("r", 5s);
  CHECK(refused.code() == errc::overloaded);
  CHECK_THAT(refused.err().message, Catch::Contains("cache 'narrow'"));
  CHECK_THAT(refused.err().message, Catch::Contains("key 'r'"));
  auto m = c.metrics();
  CHECK(m.total.bulkhead_rejections == 1);
  CHECK(m.gauges.loads_queued == 1);
  release.open();
  CHECK(queued.get().value() == "v-q");
  for (auto& f : hung)
    CHECK(f.get().ok());
  CHECK(c.metrics().gauges.loads_queued == 0);
}

TEST_CASE("an abandoned load holds abandoned_running until its loader returns",
          "[runtime][bulkhead]") {
  gate release;
  started_latch started;
  started_latch returned;
  runtime rt{small_runtime(2)};
  open_on_exit opener{release};
  auto cfg = named("abandon");
  // Long enough that the loader has started before it passes (a load abandoned before its
  // loader starts is skipped, and is not what this test is about).
  cfg.load_timeout = 300ms;
  auto c = rt.make_cache<std::string>(cfg, [&](const std::string& k) {
    started.arrive();
    release.wait();
    returned.arrive();
    return "v-" + k;
  });
  auto waiter = c.get_async("k");
  REQUIRE(started.wait_for(1));
  CHECK(waiter.get().code() == errc::timeout); // answered at load_timeout; the loader still runs
  auto m = c.metrics();
  CHECK(m.total.abandoned_loads == 1);
  CHECK(m.gauges.abandoned_running == 1);
  release.open();
  REQUIRE(returned.wait_for(1));
  // The gauge is lowered by the job just after the loader returns: wait for that, bounded.
  auto give_up = std::chrono::steady_clock::now() + 30s;
  while (c.metrics().gauges.abandoned_running != 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  CHECK(c.metrics().gauges.abandoned_running == 0);
  CHECK(c.metrics().total.abandoned_loads == 1);
}

TEST_CASE("shutdown starts no load still queued in a bulkhead", "[runtime][bulkhead]") {
  gate release;
  started_latch started;
  std::atomic<int> calls{0};
  auto rt = std::make_unique<runtime>(small_runtime(2));
  open_on_exit opener{release};
  auto cfg = named("queued");
  cfg.load_timeout = 0s;
  cfg.max_concurrent_loads = 1;
  auto c = rt->make_cache<std::string>(cfg, [&](const std::string& k) {
    ++calls;
    if (k == "a") {
      started.arrive();
      release.wait();
    }
    return "v-" + k;
  });
  auto a = c.get_async("a");
  REQUIRE(started.wait_for(1)); // "a" holds the bulkhead's one slot
  auto b = c.get_async("b");
  auto d = c.get_async("d");
  REQUIRE(wait_for_queued(c, 2));
  std::thread stopper{[&] { rt->shutdown(30s); }};
  // Every waiter is answered before the running load returns...
  CHECK(b.get().code() == errc::shutting_down);
  CHECK(d.get().code() == errc::shutting_down);
  CHECK(a.get().code() == errc::shutting_down);
  // ...and when it does, its thread must not go on to the loads queued behind it: their callers
  // are gone, and the application may be tearing down what the loader uses.
  release.open();
  stopper.join();
  CHECK(calls.load() == 1);
}

TEST_CASE("with many warm loader threads, hung loaders in one cache still leave threads to another",
          "[runtime][bulkhead]") {
  // 256 warm threads: the automatic pool cap must make room for the second cache's bulkhead
  // beyond the first's, not stop at max(loader_threads, 256).
  check_hung_cache_leaves_threads(256, 1);
}
