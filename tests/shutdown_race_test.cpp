// Gets racing shutdown: every blocking, timed, future and callback get issued at any moment
// relative to shutdown() returns promptly, with a value or errc::shutting_down.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "test_fixture.hpp"
#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

/// Runs `get` on its own thread; the result, or nullopt when it has not returned within
/// `bound` (the thread is then left behind, detached: the test has failed).
template <class F>
std::optional<result<std::string>> returns_within(F get, std::chrono::seconds bound = 10s) {
  auto done = std::make_shared<std::promise<result<std::string>>>();
  auto answer = done->get_future();
  std::thread([done, get] { done->set_value(get()); }).detach();
  if (answer.wait_for(bound) != std::future_status::ready)
    return std::nullopt;
  return answer.get();
}

/// A cache whose supervisor has stopped, seen by a caller that checked `closing` just before
/// shutdown set it: its request reaches a supervisor that is gone and is dropped.
struct dropped_request {
  dropped_request() {
    caf::anon_send(f.core->supervisor, shutdown_atom::value);
    f.run();
    REQUIRE(f.core->closing.load());
    f.core->closing = false; // the caller's check ran before shutdown set it
  }
  fixture f{cache_config{}};
};

} // namespace

TEST_CASE("a blocking get whose request is dropped at shutdown is answered shutting_down",
          "[shutdown][race]") {
  dropped_request d;
  auto handle = d.f.handle;
  auto r = returns_within([handle] { return handle.get("cold"); });
  REQUIRE(r.has_value()); // before the fix: blocked forever, the caller held its own token
  CHECK(r->code() == errc::shutting_down);
}

TEST_CASE("a timed get whose request is dropped at shutdown says shutting_down, not timeout",
          "[shutdown][race]") {
  dropped_request d;
  auto handle = d.f.handle;
  auto r = returns_within([handle] { return handle.get("cold", std::chrono::hours(1)); });
  REQUIRE(r.has_value());
  CHECK(r->code() == errc::shutting_down);
}

TEST_CASE("future and callback gets whose requests are dropped at shutdown are answered",
          "[shutdown][race]") {
  dropped_request d;
  auto handle = d.f.handle;
  auto fut = handle.get_async("cold");
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  CHECK(fut.get().code() == errc::shutting_down);
  std::promise<result<std::string>> called;
  handle.get_async("cold2", [&](result<std::string> r) { called.set_value(std::move(r)); });
  auto answer = called.get_future();
  REQUIRE(answer.wait_for(10s) == std::future_status::ready);
  CHECK(answer.get().code() == errc::shutting_down);
}

namespace {

/// Counts threads still inside a get; wait_zero gives up after a bound.
struct outstanding {
  std::mutex mtx;
  std::condition_variable cv;
  int left = 0;
  void done() {
    std::lock_guard<std::mutex> g{mtx};
    if (--left == 0)
      cv.notify_all();
  }
  bool wait_zero(std::chrono::seconds bound) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, bound, [&] { return left == 0; });
  }
};

} // namespace

TEST_CASE("gets of every kind racing shutdown at varying delays after start all return",
          "[shutdown][race][runtime]") {
  constexpr int rounds = 200;
  constexpr int threads = 24;
  std::atomic<std::uint64_t> values{0}, stopped{0}, other{0};
  for (int round = 0; round < rounds; ++round) {
    runtime_config cfg;
    cfg.scheduler_threads = 2;
    cfg.loader_threads = 4;
    auto rt = std::make_unique<runtime>(cfg);
    cache_config c;
    c.name = "cold";
    auto cache = rt->make_cache<std::string>(c, [](const std::string& key) { return key; });
    auto live = std::make_shared<outstanding>();
    live->left = threads;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, live, cache, t, round] {
        // Cold keys until one is refused: the last get of each thread races the shutdown.
        for (int i = 0;; ++i) {
          auto key = std::to_string(round) + "/" + std::to_string(t) + "/" + std::to_string(i);
          result<std::string> r = error{};
          switch (t % 4) {
          case 0:
            r = cache.get(key);
            break;
          case 1:
            r = cache.get(key, std::chrono::hours(1));
            break;
          case 2:
            r = cache.get_async(key).get();
            break;
          default: {
            std::promise<result<std::string>> p;
            cache.get_async(key, [&p](result<std::string> x) { p.set_value(std::move(x)); });
            r = p.get_future().get();
          }
          }
          if (r.ok() && r.value() == key) {
            ++values;
            continue;
          }
          (r.code() == errc::shutting_down ? stopped : other)++;
          break;
        }
        live->done();
      });
    // From immediately after start (the widest window: the first epoch guard registers
    // membarrier) to a few milliseconds in, so that shutdown lands everywhere in a get.
    std::this_thread::sleep_for(std::chrono::microseconds(50 * (round % 40)));
    rt->shutdown();
    bool all_returned = live->wait_zero(20s);
    if (!all_returned) {
      for (auto& th : pool)
        th.detach(); // stuck in a get: the failure below reports it
      FAIL("round " << round << ": a get was still blocked 20 s after shutdown() returned");
    }
    for (auto& th : pool)
      th.join();
    rt.reset();
  }
  CHECK(other.load() == 0); // every answer was the key's value or shutting_down
  CHECK(stopped.load() == static_cast<std::uint64_t>(rounds * threads));
  INFO("values served before shutdown: " << values.load());
}
