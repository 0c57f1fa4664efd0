// Runs every example program as a user would and checks its exit status and key output lines.
// The examples check their own invariants (load counts, values) and exit non-zero on failure.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <sys/wait.h>

using Catch::Matchers::Contains;

namespace {

struct run_result {
  int status = -1; // exit code, or -1 if the program did not exit normally
  std::string out; // stdout (and stderr when asked for)
};

run_result run(const std::string& command) {
  run_result r;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    r.out.append(buf, n);
  int raw = pclose(pipe);
  if (raw != -1 && WIFEXITED(raw))
    r.status = WEXITSTATUS(raw);
  return r;
}

std::string example(const std::string& name) {
  return std::string{CORRAL_BINARY_DIR} + "/examples/corral-" + name;
}

} // namespace

TEST_CASE("price_fetcher fetches each ticker once per ttl", "[examples]") {
  auto r = run(example("price-fetcher"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("AAPL: 189.25"));
  CHECK_THAT(r.out, Contains("fetches: 3\n"));
  CHECK_THAT(r.out, Contains("fetches after ttl: 3\n"));
  // The per-spike count and the table's total (both spikes) are told apart, and agree.
  CHECK_THAT(r.out, Contains("requests: 144 (48 threads x 3 tickers)\n"));
  CHECK_THAT(r.out, Contains("requests in all: 288"));
  CHECK_THAT(r.out, Contains("\ntotal         288 "));
  CHECK_THAT(r.out, Contains("failed requests: 0"));
}

TEST_CASE("zip_lookup calls its stub once per zip", "[examples]") {
  auto r = run(example("zip-lookup"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("10001 -> New York, NY"));
  CHECK_THAT(r.out, Contains("00000 -> not_found"));
  CHECK_THAT(r.out, Contains("lookups: 10, distinct zips: 4, stub calls: 4"));
}

TEST_CASE("actor_client talks to a cache through messages", "[examples]") {
  auto r = run(example("actor-client"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("put EURUSD -> ok"));
  CHECK_THAT(r.out, Contains("get EURUSD -> 1.08"));
  CHECK_THAT(r.out, Contains("get NOPE -> not_found"));
  CHECK_THAT(r.out, Contains("invalidate AAPL -> ok"));
  CHECK_THAT(r.out, Contains("status: cache=prices"));
  CHECK_THAT(r.out, Contains("loader calls: 3"));
}

TEST_CASE("refresh_after serves the current value while one reload runs", "[examples]") {
  auto r = run(example("refresh-after"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("first get -> 1.0801 (loaded, the caller waited)"));
  CHECK_THAT(r.out, Contains("get past refresh_after -> 1.0801 (served from memory"));
  CHECK_THAT(r.out, Contains("after the background reload -> 1.0802 (loader calls: 2)"));
  CHECK_THAT(r.out, Contains("put during a reload -> 1.2345"));
  CHECK_THAT(r.out, Contains("reloaded early by a reader before the ttl ran out: yes"));
  CHECK_THAT(r.out, Contains("refresh example: ok"));
}

TEST_CASE("resources: sync names the failed resource, refresh failures keep the last value",
          "[examples][resources]") {
  auto r = run(example("resources"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("sync error: sync: 1 of 3 resources not loaded: 'holidays' "
                             "(calendar service unavailable)\n"));
  CHECK_THAT(r.out, Contains("motd: hello\n"));
  CHECK_THAT(r.out, Contains("holidays after retry: 2026-12-25\n"));
  CHECK_THAT(r.out, Contains("EURUSD after 2+ failed refreshes: 0.93 (last good value kept)"));
  CHECK_THAT(r.out, Contains("last error: rates service unavailable\n"));
  CHECK_THAT(r.out, Contains("EURUSD after remove: no_such_resource\n"));
}

TEST_CASE("write_behind writes each user once to SQLite and finds it after a restart",
          "[examples]") {
  auto r = run(example("write-behind"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("puts: 1000 over 100 users; unwritten now: 100"));
  CHECK_THAT(r.out, Contains("flush: complete, 100 written, 0 dead-lettered, 0 unwritten"));
  CHECK_THAT(r.out, Contains("writes counted: 100"));
  CHECK_THAT(r.out, Contains("after restart: user42 = User 42, 10 visits (looked up on miss)"));
}

TEST_CASE("demo keeps single-flight through two spikes", "[examples]") {
  auto r = run(example("demo") + " --config " CORRAL_SOURCE_DIR "/config/default.json --quiet");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("loader calls  100 (corral counted 100 loads)"));
  CHECK_THAT(r.out, Contains("errors        0"));
  CHECK_THAT(r.out, Contains("single-flight held: 100 loads for 10,000 requests per wave"));
  // A legend, hit latencies in microseconds, and a summary read at a glance.
  CHECK_THAT(r.out, Contains("\"cycle\" sums the last completed windows"));
  CHECK_THAT(r.out, Contains(" µs"));
  CHECK_THAT(r.out, Contains("summary\n  requests      20000 in 2 waves"));
  CHECK_THAT(r.out, Contains("  hit ratio     ") && Contains("  load p99      "));
  CHECK_THAT(r.out, Contains("single-flight 200 loads for ") && Contains("loader calls saved"));
  // One table per cycle with requests, plus the final one: never the same table twice.
  std::vector<std::string> tables;
  for (auto at = r.out.find("cache \"prices\""); at != std::string::npos;
       at = r.out.find("cache \"prices\"", at + 1))
    tables.push_back(r.out.substr(at, r.out.find("\n\n", at) - at));
  CHECK(tables.size() >= 2);
  CHECK(tables.size() <= 4); // two waves, each within at most two cycles, and the final table
  for (std::size_t i = 1; i < tables.size(); ++i)
    CHECK(tables[i] != tables[i - 1]);
}

TEST_CASE("demo rejects a missing config file with exit code 2", "[examples]") {
  auto r = run(example("demo") + " --config /nonexistent/corral.json --quiet 2>&1");
  INFO(r.out);
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("/nonexistent/corral.json"));
}

#ifdef CORRAL_SPDLOG_EXAMPLE // built only when CMake found spdlog
TEST_CASE("spdlog_sink forwards corral's log events to an spdlog logger", "[examples][log]") {
  auto r = run(example("spdlog-sink"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("[corral] [warning] cache prices: load failed: no quote for AAPL\n"));
  CHECK_THAT(r.out, Contains("no quote for AAPL (repeated 4 times in"));
  CHECK_THAT(r.out, Contains("spdlog example: ok"));
}
#endif
