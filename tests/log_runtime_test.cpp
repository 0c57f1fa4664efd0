// The runtime's log sink end to end: what the caches, writers, resources and shutdown report
// to rt.on_log(), filtered by runtime_config::log_level and rate-limited per message.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

struct logged {
  log_level level;
  std::string component;
  std::string message;
};

/// Keeps every event the runtime logs; waits on a condition variable, not on time.
struct log_capture {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<logged> events;

  log_handler handler() {
    return [this](log_level l, std::string_view c, std::string_view m) {
      std::lock_guard<std::mutex> guard{mtx};
      events.push_back({l, std::string{c}, std::string{m}});
      cv.notify_all();
    };
  }
  std::vector<logged> matching(const std::string& part) {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<logged> out;
    for (auto& e : events)
      if (e.message.find(part) != std::string::npos)
        out.push_back(e);
    return out;
  }
  /// Waits until an event contains `part` (10 s is a safety net for a broken build only).
  logged wait_for(const std::string& part) {
    std::unique_lock<std::mutex> lock{mtx};
    logged found{};
    bool ok = cv.wait_for(lock, 10s, [&] {
      for (auto& e : events)
        if (e.message.find(part) != std::string::npos) {
          found = e;
          return true;
        }
      return false;
    });
    INFO("waiting for a log event containing: " << part);
    REQUIRE(ok);
    return found;
  }
};

runtime_config quiet_config(log_level level = log_level::warning) {
  runtime_config cfg;
  cfg.loader_threads = 2;
  cfg.log_level = level;
  return cfg;
}

cache_config named(const std::string& name) {
  cache_config c;
  c.name = name;
  return c;
}

/// A store whose every transaction fails as scripted.
class failing_store final : public write_store {
public:
  failing_store(std::string on, store_fault fault) : on_(std::move(on)), fault_(fault) {}
  std::string name() const override { return "failing"; }
  std::unique_ptr<store_session> open() override { return std::make_unique<session>(on_, fault_); }

private:
  struct session final : store_session {
    session(std::string on, store_fault fault) : on(std::move(on)), fault(fault) {}
    void fail_if(const char* op) {
      if (on == op)
        throw store_failure(fault, std::string{"store said no to "} + op);
    }
    void begin() override { fail_if("begin"); }
    std::optional<std::string> find(const std::string&) override { return std::nullopt; }
    void save(const store_record&) override { fail_if("save"); }
    void commit() override {}
    void rollback() override {}
    std::string on;
    store_fault fault;
  };
  std::string on_;
  store_fault fault_;
};

} // namespace

TEST_CASE("1000 identical load failures log once, then one summary", "[log][runtime]") {
  log_capture log;
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  auto cache = rt.make_cache<std::string>(named("prices"), [](const std::string&) -> std::string {
    throw std::runtime_error("connection refused");
  });
  for (int i = 0; i < 1000; ++i)
    REQUIRE_FALSE(cache.get("AAPL").ok());
  auto failures = log.matching("load failed: connection refused");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].level == log_level::warning);
  CHECK(failures[0].component == "cache prices");
  CHECK(failures[0].message == "load failed: connection refused");

  rt.shutdown(); // ends the window early: the summary comes now
  auto summary = log.matching("(repeated");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].component == "cache prices");
  CHECK_THAT(summary[0].message,
             Contains("load failed: connection refused (repeated 999 times in "));
}

TEST_CASE("events below runtime_config::log_level never reach the handler", "[log][runtime]") {
  log_capture log;
  {
    runtime rt{quiet_config(log_level::error)};
    rt.on_log(log.handler());
    auto cache = rt.make_cache<std::string>(
        named("prices"), [](const std::string&) -> std::string { throw std::runtime_error("x"); });
    REQUIRE_FALSE(cache.get("a").ok()); // a warning: dropped
  }
  std::lock_guard<std::mutex> guard{log.mtx};
  CHECK(log.events.empty());
}

TEST_CASE("error backoff entered and left is logged at info", "[log][runtime]") {
  log_capture log;
  runtime rt{quiet_config(log_level::info)};
  rt.on_log(log.handler());
  auto cfg = named("rates");
  cfg.error_backoff = 1ms;
  std::atomic<int> calls{0};
  auto cache = rt.make_cache<std::string>(cfg, [&](const std::string&) -> std::string {
    if (calls++ == 0)
      throw std::runtime_error("first call fails");
    return "1.08";
  });
  REQUIRE_FALSE(cache.get("EURUSD").ok());
  auto entered = log.wait_for("backs off");
  CHECK(entered.level == log_level::info);
  CHECK(entered.component == "cache rates");
  CHECK(entered.message == "key 'EURUSD' backs off for 1 ms after a failed load: first call fails");
  // Requests inside the 1 ms fail fast; the first one after it loads again.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!cache.get("EURUSD").ok())
    REQUIRE(std::chrono::steady_clock::now() < deadline);
  auto left = log.wait_for("loaded again");
  CHECK(left.message == "key 'EURUSD' loaded again after 1 failed loads: its error backoff ended");
}

TEST_CASE("a load past load_timeout is logged", "[log][runtime]") {
  log_capture log;
  std::promise<void> release;
  auto released = release.get_future().share();
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  auto cfg = named("slow");
  cfg.load_timeout = 50ms;
  auto cache = rt.make_cache<std::string>(cfg, [released](const std::string&) {
    released.wait();
    return std::string{"late"};
  });
  CHECK(cache.get("k").err().code == errc::timeout);
  auto e = log.wait_for("timed out");
  CHECK(e.level == log_level::warning);
  CHECK(e.component == "cache slow");
  CHECK(e.message == "load timed out after 50 ms (load_timeout)");
  release.set_value();
}

TEST_CASE("a failing write-behind store logs warnings and the shutdown report", "[log][runtime]") {
  log_capture log;
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  auto cfg = named("orders");
  cfg.write_interval = 10ms;
  cfg.write_retry = 10ms;
  cfg.write_retry_max = 10ms;
  cfg.flush_timeout = 50ms;
  bool own_hook_called = false;
  write_hooks<std::string> hooks;
  hooks.log = [&](write_log_level, const std::string&) { own_hook_called = true; };
  auto cache = rt.make_write_behind_cache<std::string>(
      cfg, std::make_shared<failing_store>("begin", store_fault::recoverable), hooks);
  REQUIRE(cache.put("o1", "pending"));
  auto e = log.wait_for("begin failed");
  CHECK(e.level == log_level::warning);
  CHECK(e.component == "cache orders");
  CHECK(e.message == "failing: begin failed: store said no to begin; 1 items stay dirty");
  rt.shutdown();
  CHECK(own_hook_called); // the cache's own hook still hears the writer
  auto report = log.matching("shutdown: 1 entries of cache 'orders' could not be written");
  REQUIRE(report.size() == 1);
  CHECK(report[0].level == log_level::warning);
}

TEST_CASE("a dead-lettered item is logged", "[log][runtime]") {
  log_capture log;
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  auto cfg = named("orders");
  cfg.write_interval = 10ms;
  auto cache = rt.make_write_behind_cache<std::string>(
      cfg, std::make_shared<failing_store>("save", store_fault::fatal));
  REQUIRE(cache.put("o1", "bad row"));
  auto e = log.wait_for("dead-lettered");
  CHECK(e.component == "cache orders");
  CHECK(e.message == "dead-lettered 'o1': failing: store said no to save");
}

TEST_CASE("a failed resource load reaches the log and the error handler", "[log][runtime]") {
  log_capture log;
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  std::vector<std::string> handled;
  rt.on_resource_error([&](const std::string& name, const error&) { handled.push_back(name); });
  resource_config rc;
  rc.name = "fx";
  rc.refresh_interval = 1h;
  rt.add_resource<std::string>(rc, []() -> std::string { throw std::runtime_error("feed down"); });
  REQUIRE(rt.sync().has_value());
  auto e = log.wait_for("feed down");
  CHECK(e.level == log_level::warning);
  CHECK(e.component == "resource fx");
  CHECK(e.message == "load failed: feed down");
  rt.shutdown(); // the resource actor has stopped: `handled` is no longer written
  CHECK(handled == std::vector<std::string>{"fx"});
}

TEST_CASE("a log handler calling shutdown() on a resource event is refused, not a hang",
          "[log][runtime]") {
  runtime rt{quiet_config()};
  std::promise<std::string> refused;
  std::atomic<bool> once{false};
  rt.on_log([&](log_level, std::string_view component, std::string_view) {
    if (component != "resource fx" || once.exchange(true))
      return;
    try {
      rt.shutdown(); // on the resource actor's thread: it would wait for itself
      refused.set_value("shutdown returned");
    } catch (const std::logic_error& e) {
      refused.set_value(e.what());
    }
  });
  resource_config rc;
  rc.name = "fx";
  rc.refresh_interval = 1h;
  rt.add_resource<std::string>(rc, []() -> std::string { throw std::runtime_error("feed down"); });
  rt.sync(false);
  auto answer = refused.get_future();
  REQUIRE(answer.wait_for(10s) == std::future_status::ready); // a safety net, not a timing
  CHECK_THAT(answer.get(), Contains("log handler on the resource actor"));
}

TEST_CASE("loader threads abandoned at shutdown are logged", "[log][runtime]") {
  log_capture log;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  runtime rt{quiet_config()};
  rt.on_log(log.handler());
  auto cfg = named("hung");
  cfg.load_timeout = 20ms;
  auto cache = rt.make_cache<std::string>(cfg, [&, released](const std::string&) {
    started.set_value();
    released.wait();
    return std::string{"never"};
  });
  CHECK_FALSE(cache.get("k").ok());
  started.get_future().wait();
  rt.shutdown(20ms);
  auto e = log.matching("were abandoned");
  REQUIRE(e.size() == 1);
  CHECK(e[0].component == "runtime");
  CHECK(e[0].message ==
        "shutdown: 1 loader threads still running after the grace of 20 ms were abandoned");
  release.set_value();
}
