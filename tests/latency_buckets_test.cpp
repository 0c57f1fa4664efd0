// The exported latency buckets are exact sums of the recorded log buckets, and cumulative
// since start (a fold, which closes a window, never lowers them).
#include <corral/runtime/metrics/metrics_store.hpp>

#include <catch2/catch.hpp>

using corral::latency_bound_count;
using corral::latency_bound_ns;
using corral::latency_buckets;

TEST_CASE("every exported latency bound is an edge of the log buckets", "[metrics]") {
  for (std::size_t i = 0; i < latency_bound_count; ++i) {
    INFO(i);
    const auto b = latency_bound_ns(i);
    CHECK(latency_buckets::lower(latency_buckets::index_of(b)) == b);
    CHECK(latency_buckets::index_of(b - 1) + 1 == latency_buckets::index_of(b));
  }
  CHECK(latency_bound_ns(0) == 1024);                                   // ~1 µs
  CHECK(latency_bound_ns(latency_bound_count - 1) > 60'000'000'000ULL); // past a minute
}

TEST_CASE("the total window's buckets count values below each bound", "[metrics]") {
  corral::metric_sources src;
  corral::metrics_store store{2, 1'000'000};
  src.record(corral::timing::load, 1023);              // under 2^10
  src.record(corral::timing::load, 1024);              // exactly 2^10: the next bucket
  src.record(corral::timing::load, 5'000'000'000);     // 5 s: under 2^33 ns, not under 2^32
  src.record(corral::timing::load, UINT64_C(1) << 40); // past the last bound: only in +Inf

  auto check = [](const corral::timing_stats& t) {
    CHECK(t.count == 4);
    CHECK(t.sum_ns == 1023 + 1024 + 5'000'000'000 + (UINT64_C(1) << 40));
    CHECK(t.below[0] == 1);
    CHECK(t.below[1] == 2);
    CHECK(t.below[22] == 2); // 2^32 ns
    CHECK(t.below[23] == 3); // 2^33 ns
    CHECK(t.below[latency_bound_count - 1] == 3);
  };
  check(store.snapshot("c", src, 0).total.load_time);
  store.fold(src);
  store.fold(src);
  store.fold(src); // the windows holding the values have left "cycle"
  const auto after = store.snapshot("c", src, 0);
  CHECK(after.cycle.load_time.count == 0);
  check(after.total.load_time);
}
