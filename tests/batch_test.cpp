// Batch loading (sturdyc's batch fetch): loads that arrive within batch_window are grouped into
// batch-loader calls of up to batch_size keys; each key keeps its own single-flight and answer.
#include <cmath>
#include <map>
#include <unordered_map>

#include "test_fixture.hpp"
#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/runtime.hpp>

using namespace corral;
using namespace corral::test;

namespace {

/// A scripted batch loader: records each call's keys. Keys divisible by 7 fail, keys divisible
/// by 11 are absent ("not found"), every other key k has the value "v:k".
struct scripted_batch {
  std::vector<std::vector<std::string>> calls;
  bool throws = false;

  erased_batch_loader wrap() {
    return wrap_batch_loader<std::string>([this](const std::vector<std::string>& keys) {
      calls.push_back(keys);
      if (throws)
        throw std::runtime_error("backend down");
      std::unordered_map<std::string, result<std::string>> out;
      for (const auto& k : keys) {
        auto n = std::stoi(k);
        if (n % 7 == 0)
          out.emplace(k, error{errc::load_failed, "bad " + k});
        else if (n % 11 != 0)
          out.emplace(k, "v:" + k);
      }
      return out;
    });
  }
};

fixture_options with_batch(erased_batch_loader b) {
  fixture_options o;
  o.batch = std::move(b);
  return o;
}

cache_config batch_config(std::size_t size, duration window) {
  cache_config c;
  c.batch_size = size;
  c.batch_window = window;
  return c;
}

/// What key `n` must be answered with.
void check_answer(const recording_sink& sink, int n) {
  INFO("key " << n);
  REQUIRE(sink.results.size() == 1);
  const auto& r = sink.results[0];
  if (n % 7 == 0) {
    CHECK(r.code() == errc::load_failed);
    CHECK_THAT(r.err().message, Catch::Contains("bad " + std::to_string(n)));
  } else if (n % 11 == 0) {
    CHECK(r.code() == errc::not_found);
  } else {
    REQUIRE(r.ok());
    CHECK(r.value() == "v:" + std::to_string(n));
  }
}

} // namespace

TEST_CASE("100 concurrent misses in one window make ceil(100 / batch_size) batch calls",
          "[batch]") {
  std::size_t size = GENERATE(30, 100, 7);
  scripted_batch batch;
  fixture f{batch_config(size, ms(10)), with_batch(batch.wrap())};
  std::vector<std::shared_ptr<recording_sink>> sinks;
  for (int n = 1; n <= 100; ++n)
    sinks.push_back(f.request(std::to_string(n)));
  f.run();
  // Full batches are called at once; the rest waits for the window to end.
  CHECK(f.loads.queued() == 100 / size);
  f.advance(ms(10));
  auto expected = static_cast<std::size_t>(std::ceil(100.0 / static_cast<double>(size)));
  REQUIRE(f.loads.queued() == expected);
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == expected);
  std::size_t keys = 0;
  for (const auto& call : batch.calls) {
    CHECK(call.size() <= size);
    keys += call.size();
  }
  CHECK(keys == 100);
  for (int n = 1; n <= 100; ++n)
    check_answer(*sinks[static_cast<std::size_t>(n - 1)], n);
  CHECK(f.count(counter::loads) == 100);
  CHECK(f.count(counter::misses) == 100 - 100 / 7);
}

TEST_CASE("a batch is called when its window ends, not when an earlier window's timer fires",
          "[batch]") {
  scripted_batch batch;
  fixture f{batch_config(3, ms(10)), with_batch(batch.wrap())};
  for (int n = 1; n <= 3; ++n)
    f.request(std::to_string(n)); // fills a batch: called at once, window 0 is over
  f.run();
  CHECK(f.loads.queued() == 1);
  f.advance(ms(5));
  auto late = f.request("4"); // opens window 1, which ends at 15 ms
  f.run();
  f.advance(ms(5)); // 10 ms: window 0's timer fires and must be ignored
  CHECK(f.loads.queued() == 1);
  f.advance(ms(4)); // 14 ms
  CHECK(f.loads.queued() == 1);
  f.advance(ms(1)); // 15 ms
  CHECK(f.loads.queued() == 2);
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 2);
  CHECK(batch.calls[1] == std::vector<std::string>{"4"});
  check_answer(*late, 4);
}

TEST_CASE("requests for one key in a window share one slot of the batch", "[batch]") {
  scripted_batch batch;
  fixture f{batch_config(10, ms(10)), with_batch(batch.wrap())};
  auto a = f.request("5");
  auto b = f.request("5");
  auto c = f.request("6");
  f.run();
  f.advance(ms(10));
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 1);
  CHECK(batch.calls[0].size() == 2);
  check_answer(*a, 5);
  check_answer(*b, 5);
  check_answer(*c, 6);
  CHECK(f.count(counter::loads) == 2);
}

TEST_CASE("due refreshes are coalesced into one batch call", "[batch]") {
  scripted_batch batch;
  auto cfg = batch_config(10, ms(10));
  cfg.refresh_after = ms(100);
  fixture f{cfg, with_batch(batch.wrap())};
  for (int n : {1, 2, 3})
    f.request(std::to_string(n));
  f.run();
  f.advance(ms(10));
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 1);

  f.advance(ms(100)); // every entry is due for a refresh on its next read
  std::vector<std::shared_ptr<recording_sink>> reads;
  for (int n : {1, 2, 3})
    reads.push_back(f.request(std::to_string(n)));
  f.run();
  for (int n : {1, 2, 3}) // answered at once with the current value
    check_answer(*reads[static_cast<std::size_t>(n - 1)], n);
  CHECK(f.loads.queued() == 0); // the refreshes wait for the window
  f.advance(ms(10));
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 2);
  CHECK(batch.calls[1].size() == 3);
  CHECK(f.count(counter::refreshes) == 3);
}

TEST_CASE("a throwing batch loader fails every key of its call with its message", "[batch]") {
  scripted_batch batch;
  batch.throws = true;
  fixture f{batch_config(10, ms(10)), with_batch(batch.wrap())};
  auto a = f.request("1");
  auto b = f.request("2");
  f.run();
  f.advance(ms(10));
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 1); // one call for both keys, and it threw
  CHECK(batch.calls[0].size() == 2);
  for (auto* s : {a.get(), b.get()}) {
    REQUIRE(s->results.size() == 1);
    CHECK(s->results[0].code() == errc::load_failed);
    CHECK_THAT(s->results[0].err().message, Catch::Contains("backend down"));
  }
  CHECK(f.count(counter::load_errors) == 2);
}

TEST_CASE("a key whose load timed out before its batch started is left out of the call",
          "[batch]") {
  scripted_batch batch;
  auto cfg = batch_config(10, ms(50));
  cfg.load_timeout = ms(20);
  fixture f{cfg, with_batch(batch.wrap())};
  auto early = f.request("1");
  f.run();
  f.advance(ms(20)); // key 1's load times out; its waiter is answered
  REQUIRE(early->results.size() == 1);
  CHECK(early->results[0].code() == errc::timeout);
  f.advance(ms(15));
  auto other = f.request("2"); // at 35 ms: times out at 55 ms, after the window
  f.run();
  f.advance(ms(15)); // 50 ms: the window ends
  f.loads.run_all();
  f.run();
  REQUIRE(batch.calls.size() == 1);
  CHECK(batch.calls[0] == std::vector<std::string>{"2"});
  check_answer(*other, 2);
}

TEST_CASE("batch_size 0 is rejected", "[batch][config]") {
  runtime_config cfg;
  cfg.caches.push_back(batch_config(0, ms(1)));
  cfg.caches.back().name = "b";
  CHECK_THROWS_AS(validate(cfg), config_error);
}

TEST_CASE("a registered batch loader serves a cache named in the config", "[batch][runtime]") {
  auto cfg = parse_config(
      R"({"caches": [{"name": "users", "loader": "users_batch", "batch_window": "1ms"}]})");
  runtime rt{cfg};
  std::atomic<int> calls{0};
  rt.register_batch_loader<std::string>("users_batch", [&](const std::vector<std::string>& keys) {
    ++calls;
    std::map<std::string, std::string> out;
    for (const auto& k : keys)
      if (k != "nobody")
        out[k] = "user " + k;
    return out;
  });
  auto users = rt.cache<std::string>("users");
  auto a = users.get_async("ada");
  auto b = users.get_async("bob");
  auto c = users.get_async("nobody");
  CHECK(a.get().value() == "user ada");
  CHECK(b.get().value() == "user bob");
  CHECK(c.get().code() == errc::not_found);
  CHECK(calls >= 1);
  CHECK(calls <= 3);
}
