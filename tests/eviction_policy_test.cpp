// The frequency sketch and the eviction policy in isolation: a real entry_table driven on one
// thread, inserting on a miss as a load publishes and touching on a hit as fast_lookup does.
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/eviction_policy.hpp>
#include <corral/runtime/engine/frequency_sketch.hpp>

using namespace corral;

TEST_CASE("the sketch estimates counts, saturating at 15", "[sketch]") {
  frequency_sketch s{1000};
  for (int i = 0; i < 5; ++i)
    s.increment(42);
  CHECK(s.estimate(42) == 5);
  CHECK(s.estimate(43) <= 1); // a collision may overcount, never by much in a sparse sketch
  for (int i = 0; i < 20; ++i)
    s.increment(7);
  CHECK(s.estimate(7) == 15);
}

TEST_CASE("the sketch halves every counter after sample_size increments", "[sketch]") {
  frequency_sketch s{100};
  for (int i = 0; i < 8; ++i)
    s.increment(1);
  REQUIRE(s.resets() == 0);
  std::uint64_t h = 1000;
  while (s.resets() == 0)
    s.increment(h++); // distinct keys: each increment counts toward aging
  CHECK(s.estimate(1) == 4);
}

namespace {

/// A policy and its table, driven the way cache_core drives them.
struct policy_bench {
  explicit policy_bench(std::size_t capacity) : policy(capacity, 0) {}
  entry_table table;
  eviction_policy policy;
  eviction_policy::busy_fn not_busy = [](const std::string&, std::size_t) { return false; };
  time_point now{};
  std::uint64_t rejections = 0;

  /// One request: a hit touches the entry, a miss inserts it and keeps the bound. Each request
  /// is one access tick later, so every hit counts in the entry's frequency.
  bool request(const std::string& key) {
    now += std::chrono::milliseconds(17);
    {
      detail::epoch_guard guard;
      if (const entry* e = table.find(key, entry_table::hash_key(key))) {
        entry_table::touch(*e, entry_table::tick_of(now));
        return true;
      }
    }
    std::unique_ptr<entry> e = std::make_unique<value_entry<std::string>>("v");
    policy.stamp(*e);
    bool inserted = false;
    table.publish(key, e, table.next_version(), now, &inserted);
    if (inserted) {
      policy.record_insert(table, key, entry_table::hash_key(key));
      policy.enforce(table, not_busy, now, 64, [&](const eviction_policy::eviction& ev) {
        rejections += ev.rejected ? 1 : 0;
      });
    }
    return false;
  }
};

} // namespace

TEST_CASE("a sequential scan does not flush the hot keys", "[policy]") {
  policy_bench b{1000};
  for (int round = 0; round < 5; ++round) // 500 hot keys, read 5 times each
    for (int i = 0; i < 500; ++i)
      b.request("hot" + std::to_string(i));
  // A scan of 20 times the cache, while the hot keys are still read: one hot read per ten
  // scanned keys, so that each hot key is read once per 5,000 requests (LRU keeps none).
  for (int i = 0; i < 20000; ++i) {
    b.request("scan" + std::to_string(i));
    if (i % 10 == 0)
      b.request("hot" + std::to_string((i / 10) % 500));
  }
  CHECK(b.table.size() <= 1000);
  int kept = 0;
  for (int i = 0; i < 500; ++i)
    kept += b.request("hot" + std::to_string(i)) ? 1 : 0;
  CHECK(kept >= 490); // LRU would keep none
  CHECK(b.rejections > 15000);
}

TEST_CASE("a loop larger than the cache keeps a stable hit ratio", "[policy]") {
  policy_bench b{1000};
  const int loop = 1200; // LRU: 0 hits on every pass
  for (int pass = 0; pass < 5; ++pass)
    for (int i = 0; i < loop; ++i)
      b.request("k" + std::to_string(i));
  for (int pass = 0; pass < 3; ++pass) {
    int hits = 0;
    for (int i = 0; i < loop; ++i)
      hits += b.request("k" + std::to_string(i)) ? 1 : 0;
    CHECK(hits >= loop * 7 / 10); // the ideal keeps 1000 of 1200
  }
}
