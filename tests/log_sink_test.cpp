// The log sink alone, on a fake clock: level filter, rate limit and its summaries, the bound
// on tracked keys, the default line format and thread safety.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <corral/runtime/engine/log_sink.hpp>
#include <corral/runtime/log.hpp>

using namespace corral;
using namespace std::chrono_literals;

namespace {

struct seen_event {
  log_level level;
  std::string component;
  std::string message;
};

/// A clock the test moves by hand, and a handler that keeps every event.
struct fixture {
  log_sink::clock::time_point t{std::chrono::hours(1)};
  std::vector<seen_event> seen;
  std::mutex mtx;

  std::unique_ptr<log_sink> make(log_level level = log_level::warning,
                                 std::size_t max_keys = log_sink::default_max_keys) {
    auto s = std::make_unique<log_sink>(
        level, 10s, [this] { return t; }, max_keys);
    s->set_handler([this](log_level l, std::string_view c, std::string_view m) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.push_back({l, std::string{c}, std::string{m}});
    });
    return s;
  }
};

} // namespace

TEST_CASE("log levels print and parse by name", "[log]") {
  for (auto l :
       {log_level::debug, log_level::info, log_level::warning, log_level::error, log_level::off})
    CHECK(parse_log_level(to_string(l)) == l);
  CHECK(to_string(log_level::warning) == "warning");
  CHECK_FALSE(parse_log_level("WARNING").has_value());
  CHECK_FALSE(parse_log_level("warn").has_value());
  CHECK_FALSE(parse_log_level("").has_value());
}

TEST_CASE("events below the level are dropped before the message is built", "[log]") {
  fixture f;
  auto sink = f.make(log_level::warning);
  bool built = false;
  sink->report(log_level::info, "cache a", [&] {
    built = true;
    return std::string{"loaded"};
  });
  CHECK_FALSE(built);
  sink->write(log_level::debug, "cache a", "debug");
  sink->write(log_level::warning, "cache a", "warned");
  sink->write(log_level::error, "cache a", "failed");
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[0].level == log_level::warning);
  CHECK(f.seen[1].level == log_level::error);
  CHECK(f.seen[1].component == "cache a");
  CHECK(f.seen[1].message == "failed");

  fixture quiet;
  auto off = quiet.make(log_level::off);
  off->write(log_level::error, "cache a", "failed");
  CHECK(quiet.seen.empty());
}

TEST_CASE("repeats inside the window are counted and summarised once it ends", "[log]") {
  fixture f;
  auto sink = f.make();
  for (int i = 0; i < 1000; ++i)
    sink->write(log_level::warning, "cache prices", "load failed: boom");
  REQUIRE(f.seen.size() == 1);
  CHECK(f.seen[0].message == "load failed: boom");

  f.t += 9s;
  sink->flush_due();
  CHECK(f.seen.size() == 1); // the window is still open

  f.t += 1s;
  sink->flush_due();
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[1].level == log_level::warning);
  CHECK(f.seen[1].component == "cache prices");
  CHECK(f.seen[1].message == "load failed: boom (repeated 999 times in 10 s)");
  CHECK(sink->tracked() == 0);

  // The key is forgotten: its next event passes through and opens a new window.
  sink->write(log_level::warning, "cache prices", "load failed: boom");
  REQUIRE(f.seen.size() == 3);
  CHECK(f.seen[2].message == "load failed: boom");
}

TEST_CASE("the next event after a window ended emits the summary first", "[log]") {
  fixture f;
  auto sink = f.make();
  sink->write(log_level::warning, "cache a", "x");
  sink->write(log_level::warning, "cache a", "x");
  f.t += 11s;
  sink->write(log_level::warning, "cache a", "x");
  REQUIRE(f.seen.size() == 3);
  CHECK(f.seen[1].message == "x (repeated 1 times in 10 s)");
  CHECK(f.seen[2].message == "x"); // the first of a new window
}

TEST_CASE("a key that did not repeat ends its window without a summary", "[log]") {
  fixture f;
  auto sink = f.make();
  sink->write(log_level::warning, "cache a", "once");
  f.t += 10s;
  sink->flush_due();
  CHECK(f.seen.size() == 1);
  CHECK(sink->tracked() == 0);
}

TEST_CASE("level, component and message together make a key", "[log]") {
  fixture f;
  auto sink = f.make();
  sink->write(log_level::warning, "cache a", "x");
  sink->write(log_level::error, "cache a", "x");
  sink->write(log_level::warning, "cache b", "x");
  sink->write(log_level::warning, "cache a", "y");
  sink->write(log_level::warning, "cache a", "x");
  CHECK(f.seen.size() == 4);
  CHECK(sink->tracked() == 4);
}

TEST_CASE("flush_all summarises open windows with the time they ran", "[log]") {
  fixture f;
  auto sink = f.make();
  for (int i = 0; i < 4; ++i)
    sink->write(log_level::error, "runtime", "shutdown trouble");
  f.t += 3s;
  sink->flush_all();
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[1].message == "shutdown trouble (repeated 3 times in 3 s)");
  CHECK(f.seen[1].level == log_level::error);
  CHECK(sink->tracked() == 0);
}

TEST_CASE("past max_keys new keys are dropped, counted and reported once", "[log]") {
  fixture f;
  auto sink = f.make(log_level::warning, 3);
  for (int i = 0; i < 10; ++i)
    sink->write(log_level::warning, "cache a", "key " + std::to_string(i));
  CHECK(f.seen.size() == 3);
  CHECK(sink->tracked() == 3);
  f.t += 10s;
  sink->flush_due();
  REQUIRE(f.seen.size() == 4);
  CHECK(f.seen[3].level == log_level::warning);
  CHECK(f.seen[3].component == "log");
  CHECK(f.seen[3].message == "7 events dropped: more than 3 distinct messages within 10 s");
  sink->write(log_level::warning, "cache a", "key 9"); // room again
  CHECK(f.seen.size() == 5);
}

TEST_CASE("the default handler writes one line per event", "[log]") {
  CHECK(log_sink::default_line(log_level::warning, "cache prices", "load failed: boom") ==
        "corral [warning] cache prices: load failed: boom");
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    log_sink sink{log_level::warning, 10s, {}, 16, out};
    sink.write(log_level::info, "cache prices", "dropped");
    sink.write(log_level::warning, "cache prices", "load failed: boom");
    sink.write(log_level::error, "store orders", "dead-lettered 'k': bad");
    // A handler replaces the default; an empty one restores it.
    int handled = 0;
    sink.set_handler([&](log_level, std::string_view, std::string_view) { ++handled; });
    sink.write(log_level::warning, "runtime", "to the handler");
    sink.set_handler({});
    sink.write(log_level::warning, "runtime", "to the file");
    CHECK(handled == 1);
  }
  std::rewind(out);
  std::string text;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;)
    text.append(buf, n);
  std::fclose(out);
  CHECK(text == "corral [warning] cache prices: load failed: boom\n"
                "corral [error] store orders: dead-lettered 'k': bad\n"
                "corral [warning] runtime: to the file\n");
}

TEST_CASE("after close() the handler is never called, and late events go to the default lines",
          "[log]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  int handled = 0;
  {
    log_sink sink{log_level::warning, 10s, {}, 16, out};
    sink.set_handler([&](log_level, std::string_view, std::string_view) { ++handled; });
    sink.write(log_level::warning, "cache p", "before");
    sink.close(); // what shutdown() does last: the handler's captures may die after it
    sink.write(log_level::warning, "cache p", "an abandoned loader failed late");
    sink.flush_all();
  }
  std::rewind(out);
  std::string text;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;)
    text.append(buf, n);
  std::fclose(out);
  CHECK(handled == 1);
  CHECK(text == "corral [warning] cache p: an abandoned loader failed late\n");
}

TEST_CASE("a throwing handler does not escape the sink", "[log]") {
  log_sink sink{log_level::warning};
  sink.set_handler([](log_level, std::string_view, std::string_view) {
    throw std::runtime_error("handler broke");
  });
  CHECK_NOTHROW(sink.write(log_level::error, "cache a", "x"));
}

TEST_CASE("a handler may log into the sink it is called from", "[log]") {
  fixture f;
  auto sink = f.make();
  int calls = 0;
  sink->set_handler([&](log_level, std::string_view c, std::string_view) {
    ++calls;
    if (c == "cache a") // would deadlock if the sink held its lock around the handler
      sink->write(log_level::warning, "cache b", "from the handler");
  });
  sink->write(log_level::warning, "cache a", "x");
  CHECK(calls == 2);
}

TEST_CASE("many threads reporting one key pass it through once", "[log]") {
  fixture f;
  auto sink = f.make();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        sink->write(log_level::warning, "cache a", "same");
    });
  for (auto& t : threads)
    t.join();
  sink->flush_all();
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[0].message == "same");
  CHECK(f.seen[1].message == "same (repeated 3999 times in 0 ms)");
}

TEST_CASE("windows are described in seconds or milliseconds", "[log]") {
  CHECK(describe_window(10s) == "10 s");
  CHECK(describe_window(1500ms) == "1.5 s");
  CHECK(describe_window(250ms) == "250 ms");
}
