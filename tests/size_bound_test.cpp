// max_entries holds on the insert path: right after the puts, with no housekeeping tick.
#include <string>
#include <thread>
#include <vector>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

TEST_CASE("a put storm stays within max_entries with no housekeeping tick", "[bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_entries = 100;
  cfg.prune_interval = std::chrono::hours(1); // the tick never runs in this test
  fixture f{cfg};
  const std::string kilobyte(1024, 'x');
  for (int i = 0; i < 10000; ++i)
    f.handle.put("k" + std::to_string(i), kilobyte);
  CHECK(f.handle.size() <= 100);
}

TEST_CASE("concurrent put storms overshoot max_entries by at most one entry per thread",
          "[bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_entries = 200;
  cfg.prune_interval = std::chrono::hours(1);
  fixture f{cfg};
  constexpr int threads = 4;
  std::vector<std::thread> putters;
  for (int t = 0; t < threads; ++t)
    putters.emplace_back([&f, t] {
      for (int i = 0; i < 5000; ++i)
        f.handle.put("t" + std::to_string(t) + "-" + std::to_string(i), "v");
    });
  for (auto& p : putters)
    p.join();
  CHECK(f.handle.size() <= 200 + threads);
}
