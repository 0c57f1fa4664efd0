// A cache on CAF's deterministic test scheduler with a manual loader executor: tests decide
// when each message is handled, when each load completes and what time it is.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <corral/actors/cache_supervisor.hpp>
#include <corral/runtime/batch_loader.hpp>
#include <corral/runtime/cache.hpp>
#include <corral/runtime/cache_tier.hpp>
#include <corral/runtime/engine/value_ops.hpp>
#include <corral/runtime/loader.hpp>
#include <corral/runtime/metrics/metrics_actor.hpp>
#include <corral/store/store_lookup.hpp>
#include <corral/store/write_behind.hpp>

namespace corral::test {

/// Records what a requester received.
class recording_sink final : public reply_sink {
public:
  void deliver(const outcome& o) noexcept override {
    results.push_back(to_result<std::string>(o));
    stale.push_back(o.stale);
  }
  std::vector<result<std::string>> results;
  std::vector<bool> stale;
};

/// A scripted loader: each call is recorded and answered by `script` (default: "v:<key>").
struct scripted_loader {
  std::vector<std::string> calls;
  /// The value each call received as `previous` ("<none>" for nullptr): the cache's current
  /// value when the load started (conditional fetches).
  std::vector<std::string> previous;
  std::function<std::optional<std::string>(const std::string&)> script =
      [](const std::string& key) { return std::optional<std::string>{"v:" + key}; };
};

inline caf::actor_system_config& test_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.console", caf::atom("none"));
  register_message_types(cfg);
  return cfg;
}

/// Spawns a client actor running `f(self)`. CAF 0.17.6 dereferences a null argument tuple when
/// an actor is spawned without arguments (UBSan reports it), so one unused argument is passed.
template <class F> void spawn_client(caf::actor_system& sys, F f) {
  sys.spawn([f](caf::event_based_actor* self, int) mutable { f(self); }, 0);
}

/// How a fixture's cache loads: the scripted loader (or none), a tier 1, a batch loader.
struct fixture_options {
  bool with_loader = true;
  std::shared_ptr<erased_tier> tier;
  std::size_t windows = 6;
  duration cycle = std::chrono::seconds(10);
  erased_batch_loader batch; // when set, the cache loads through it instead of the loader
  /// When set, a write-behind cache: its writer runs on the fixture's `writes` executor, and
  /// without a loader a miss looks the key up in the store.
  std::shared_ptr<write_behind_link> write_behind;
};

struct fixture {
  explicit fixture(cache_config c, bool with_loader = true,
                   std::shared_ptr<erased_tier> tier = nullptr, std::size_t windows = 6,
                   duration cycle = std::chrono::seconds(10))
      : fixture(std::move(c),
                fixture_options{with_loader, std::move(tier), windows, cycle, {}, nullptr}) {}

  fixture(cache_config c, fixture_options opt)
      : sys(test_config(caf_cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        loader(std::make_shared<scripted_loader>()) {
    c.name = c.name.empty() ? "test" : c.name;
    erased_loader fn;
    if (opt.write_behind) {
      opt.write_behind->writes = &writes;
      if (!opt.with_loader)
        fn = store_lookup(opt.write_behind->store, value_ops_for<std::string>());
    }
    if (opt.with_loader && !opt.batch) {
      auto l = loader;
      fn = wrap_loader<std::string>([l](const std::string& key, const std::string* previous) {
        l->calls.push_back(key);
        l->previous.push_back(previous != nullptr ? *previous : "<none>");
        return l->script(key);
      });
    }
    core = std::make_shared<cache_core>(c, value_ops_for<std::string>(), std::move(fn), loads,
                                        sys.clock(), opt.windows, opt.cycle);
    core->tier1 = std::move(opt.tier);
    core->batch_loader = std::move(opt.batch);
    core->write_behind = std::move(opt.write_behind);
    spawn_cache_supervisor(sys, core);
    handle = cache<std::string>{core};
    sched.run();
  }

  ~fixture() {
    // Stop every actor even after a failed REQUIRE, or the actor_system destructor waits forever.
    if (metrics)
      caf::anon_send(metrics, shutdown_atom::value);
    caf::anon_send(core->supervisor, shutdown_atom::value);
    sched.run();
    loads.run_all();
    writes.run_all();
    core->close_sends();
    sched.run();
  }

  /// Sends a local get to the key's actor (as cache<V>::get does on a miss) and returns its
  /// recorder.
  std::shared_ptr<recording_sink> request(const std::string& key,
                                          time_point deadline = time_point::max()) {
    auto sink = std::make_shared<recording_sink>();
    auto token = std::make_shared<reply_token>(sink, key);
    core->send_to_key(key, local_get_msg{key, std::move(token), deadline});
    return sink;
  }

  /// Loads `key` through its actor and completes that load (the result is in the table).
  void load(const std::string& key) {
    request(key);
    sched.run();
    finish_one_load();
  }

  /// Runs every queued message (not timers).
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
  time_point now() const { return core->now(); }

  cache_status status() {
    cache_status out;
    bool done = false;
    spawn_client(sys, [&](caf::event_based_actor* self) {
      self->request(core->supervisor, caf::infinite, status_atom::value)
          .then([&](const cache_status& s) {
            out = s;
            done = true;
          });
    });
    sched.run();
    REQUIRE(done);
    return out;
  }

  std::uint64_t count(counter c) const { return core->counters.get(c); }

  /// Starts a metrics actor that folds this cache's windows every `cycle` of test time.
  void start_metrics(duration cycle, metrics_callback cb = {}) {
    metrics = spawn_metrics_actor(sys, cycle, std::move(cb));
    caf::anon_send(metrics, watch_cache_msg{core});
    sched.run();
  }

  /// Scripts the loader to return `value` while `*failing` is false and to throw
  /// std::runtime_error(`message`) while it is true. Returns the switch (initially `fail`).
  std::shared_ptr<bool> failing_loader(std::string value, bool fail = false,
                                       std::string message = "down") {
    auto failing = std::make_shared<bool>(fail);
    loader->script = [failing, value, message](const std::string&) -> std::optional<std::string> {
      if (*failing)
        throw std::runtime_error(message);
      return value;
    };
    return failing;
  }

  /// Makes test time pass inside a loader or tier call (without firing timers mid-job).
  void spend(duration d) { sched.clock().current_time += d; }

  caf::actor_system_config caf_cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  manual_executor loads;
  manual_executor writes; // write-behind batches (declared before `core`, which points at it)
  std::shared_ptr<scripted_loader> loader;
  cache_core_ptr core;
  cache<std::string> handle;
  metrics_actor metrics;
};

/// Where a second thread parks at a chosen point until the test releases it: park(), on that
/// thread, announces the arrival and waits; the test thread waits for the arrival, drives the
/// actors meanwhile, then release()s. Shared by pointer with whatever calls park(), once.
class park_gate {
public:
  void park() {
    arrived_.set_value();
    go_.wait();
  }
  /// Whether the parked thread arrived within `bound` (false: the seam was never reached).
  bool arrived_within(std::chrono::seconds bound = std::chrono::seconds(10)) {
    return arrival_.wait_for(bound) == std::future_status::ready;
  }
  void release() { release_.set_value(); }

private:
  std::promise<void> arrived_;
  std::future<void> arrival_ = arrived_.get_future();
  std::promise<void> release_;
  std::shared_future<void> go_ = release_.get_future().share();
};

/// Scripts the fixture's loader so that its n-th call returns "v<n>".
inline void count_versions(fixture& f) {
  auto n = std::make_shared<int>(0);
  f.loader->script = [n](const std::string&) {
    return std::optional<std::string>{"v" + std::to_string(++*n)};
  };
}

inline std::chrono::milliseconds ms(long n) {
  return std::chrono::milliseconds(n);
}

/// A cache whose housekeeping runs every 20 ms and passivates key actors idle for 100 ms, with
/// no load timeout: the supervisor and passivation suites' common ground.
inline cache_config housekeeping_config() {
  cache_config c;
  c.ttl = std::chrono::seconds(60);
  c.load_timeout = duration::zero();
  c.idle_timeout = ms(100);
  c.prune_interval = ms(20);
  return c;
}

/// A loader that is really running and has not returned yet: the oldest queued job runs on a
/// second thread and blocks inside the loader until finish(). The test scheduler is touched
/// only by the test thread, and never while the second thread can send (it is parked in the
/// loader, or joined).
class running_load {
public:
  explicit running_load(fixture& f) : f_(f) {
    auto gate = gate_;
    auto script = f.loader->script;
    f.loader->script = [gate, script](const std::string& key) {
      gate->park();
      return script(key);
    };
    worker_ = std::thread([this] { f_.loads.run_one(); });
    REQUIRE(gate_->arrived_within());
  }
  /// Lets the loader return and delivers its result.
  void finish() {
    gate_->release();
    worker_.join();
    f_.run();
  }
  ~running_load() {
    if (worker_.joinable())
      finish();
  }

private:
  fixture& f_;
  std::shared_ptr<park_gate> gate_ = std::make_shared<park_gate>();
  std::thread worker_;
};

} // namespace corral::test
