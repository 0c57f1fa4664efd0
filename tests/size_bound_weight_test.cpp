// max_weight holds on the insert path; dirty and busy keys are never evicted to keep a bound.
#include <string>

#include "test_fixture.hpp"

using namespace corral;
using namespace corral::test;

TEST_CASE("max_weight bounds key plus value bytes right after the puts", "[bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_weight = 64 * 1024;
  cfg.prune_interval = std::chrono::hours(1);
  fixture f{cfg};
  const std::string kilobyte(1024, 'x');
  for (int i = 0; i < 5000; ++i)
    f.handle.put("k" + std::to_string(i), kilobyte);
  auto weight = f.core->table.weight();
  CHECK(weight <= 64 * 1024);
  CHECK(weight >= 60 * 1024); // not evicting far more than needed
  CHECK(f.core->metrics_now().gauges.weight == weight);
  // The weight is the sum over what is left: key bytes plus value bytes.
  std::size_t expected = 0;
  for (int i = 0; i < 5000; ++i) {
    auto key = "k" + std::to_string(i);
    if (f.handle.try_get(key))
      expected += key.size() + kilobyte.size();
  }
  CHECK(weight == expected);
  // Every removal path keeps the total right.
  for (int i = 0; i < 5000; ++i)
    f.handle.invalidate("k" + std::to_string(i));
  CHECK(f.core->table.weight() == 0);
}

TEST_CASE("a replaced value's weight replaces the old one", "[bounds]") {
  auto cfg = housekeeping_config();
  fixture f{cfg};
  f.handle.put("k", std::string(100, 'a'));
  CHECK(f.core->table.weight() == 101);
  f.handle.put("k", std::string(10, 'a'));
  CHECK(f.core->table.weight() == 11);
}

TEST_CASE("replacing values with heavier ones stays within max_weight", "[bounds]") {
  auto cfg = housekeeping_config();
  cfg.max_weight = 64 * 1024;
  cfg.prune_interval = std::chrono::hours(1); // no tick: the put path must hold the bound
  fixture f{cfg};
  for (int i = 0; i < 50; ++i)
    f.handle.put("k" + std::to_string(i), std::string(1024, 'x'));
  REQUIRE(f.core->table.weight() <= 64 * 1024);
  const std::string heavy(8 * 1024, 'y');
  for (int i = 0; i < 50; ++i) // same keys: no insert, only replacements
    f.handle.put("k" + std::to_string(i), heavy);
  // Margin: one value over the bound (the put that just went in).
  CHECK(f.core->table.weight() <= 64 * 1024 + heavy.size() + 8);
  CHECK(f.count(counter::weight_evictions) > 0);
}
