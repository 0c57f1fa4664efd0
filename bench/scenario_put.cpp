// put: the cost of a put into a write-behind cache (store/write_behind.hpp), against the
// hand-written sharded map of the core issue (bench/baselines.hpp) and, for context, a plain
// read-through cache's put.
//
// One thread makes 1,000,000 puts over 100,000 keys (key i % 100,000 at step i, as the lazy
// writer's BenchmarkCacheWriteMax100k does): the first 100,000 insert, the rest replace. Each
// impl starts empty in every round, so the inserts are part of the figure, as they are in the
// lazy writer's. Keys ("key-0000000", 11 characters) and values (15 characters, the longest
// std::string that stays in its small buffer) are built before any timing; the timed loop only
// indexes them (the lazy writer's benchmark formats the key with strconv.Itoa inside its loop,
// which its 250 ns/op includes). Every impl copies the prebuilt key and value per put, as a
// caller that keeps its own copy would.
//
// The write-behind cache is set up so that the timed loop is the put path and nothing else:
// write_interval 1 h (no timed drain), write_batch_size and max_dirty 1,000,000 (more than the
// 100,000 keys can ever make dirty: the put never asks the writer to drain early and never
// waits for room), and a store that does nothing (the store is only called when the runtime
// shuts down, outside the timed loop, to write the backlog). What the put does: stamp a
// version, publish the new entry in place of the old one in the lock-free table (under the
// shard's mutex), mark it dirty (appending the key to the shard's dirty list the first time
// since its last write) and retire the old entry for epoch-based reclamation.
//
// ns_per_op = timed wall time / puts, summed over the rounds; the impls are measured in
// interleaved rounds (a different one first in each round) because a shared VM drifts by tens
// of percent within seconds; ns_per_op_min_round / max_round show how noisy it was, and
// cpu_share (thread CPU time / wall time) whether other processes took the core meanwhile.
// cpu_ns_per_op is the measuring thread's CPU time per put: on a shared machine (cpu_share
// well below 1) it is the better estimate of the put's own cost.
// allocs_per_op counts operator new calls made by the measuring thread in its timed loops.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/alloc_counter.hpp"
#include "bench/baselines.hpp"
#include "bench/json_line.hpp"
#include "bench/registry.hpp"
#include "bench/timing.hpp"
#include <corral/runtime/runtime.hpp>

namespace bench {
namespace {

constexpr std::size_t key_count = 100'000;

/// A store that accepts everything and keeps nothing: only reached when the runtime shuts down
/// and writes the backlog, never inside the timed loop.
class null_store final : public corral::write_store {
public:
  std::string name() const override { return "null"; }
  std::unique_ptr<corral::store_session> open() override { return std::make_unique<session>(); }

private:
  struct session final : corral::store_session {
    void begin() override {}
    std::optional<std::string> find(const std::string&) override { return std::nullopt; }
    void save(const corral::store_record&) override {}
    void commit() override {}
    void rollback() override {}
  };
};

std::string key_name(std::size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key-%07zu", i);
  return buf;
}

std::string value_for(std::size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "val-%011zu", i);
  return buf; // 15 characters: fits the small-string buffer
}

struct workload {
  std::vector<std::string> keys;
  std::vector<std::string> values;
};

struct measurement {
  std::uint64_t ops = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t allocs = 0;
  std::uint64_t refused = 0;
  double ns_per_op() const { return seconds * 1e9 / static_cast<double>(ops); }
};

/// Times `ops` puts of key i % keys; `put` returns false when the put was refused.
template <class Put> measurement timed_puts(const workload& w, std::uint64_t ops, Put& put) {
  const std::size_t n = w.keys.size();
  std::uint64_t refused = 0;
  const auto a0 = thread_allocs();
  const auto c0 = thread_cpu_seconds();
  const auto t0 = bench_clock::now();
  std::size_t k = 0;
  for (std::uint64_t i = 0; i < ops; ++i) {
    if (!put(w.keys[k], w.values[k]))
      ++refused;
    if (++k == n)
      k = 0;
  }
  const auto t1 = bench_clock::now();
  const auto c1 = thread_cpu_seconds();
  const auto a1 = thread_allocs();
  measurement m;
  m.ops = ops;
  m.seconds = seconds_between(t0, t1);
  m.cpu_seconds = c1 - c0;
  m.allocs = a1 - a0;
  m.refused = refused;
  return m;
}

/// One impl: `run(round, ops)` builds a fresh, empty container and times `ops` puts into it.
struct impl_under_test {
  const char* name = "";
  std::function<measurement(std::size_t round, std::uint64_t ops)> run;
  measurement total;
  double min_ns = 1e300, max_ns = 0;
};

void run_put(const options& opt) {
  const std::uint64_t ops = opt.quick ? 200'000 : 1'000'000;
  const std::size_t rounds = opt.quick ? 2 : 3;

  workload w;
  w.keys.reserve(key_count);
  w.values.reserve(key_count);
  for (std::size_t i = 0; i < key_count; ++i) {
    w.keys.push_back(key_name(i));
    w.values.push_back(value_for(i));
  }

  // One runtime for the whole scenario, so that every impl runs next to the same background
  // threads (CAF scheduler, loader pool, writer threads).
  corral::runtime_config rc;
  rc.scheduler_threads = 2;
  rc.loader_threads = 1;
  corral::runtime rt{rc};
  auto store = std::make_shared<null_store>();

  auto write_behind_config = [](std::size_t round) {
    corral::cache_config c;
    c.name = "put-wb-" + std::to_string(round);
    c.write_interval = std::chrono::hours(1); // no drain during the timed loop...
    c.write_batch_size = 1'000'000;           // ...not even an early one (> keys)
    c.max_dirty = 1'000'000;                  // never waits for room (> keys)
    c.flush_timeout = std::chrono::seconds(60);
    return c;
  };
  auto loader = [](const std::string& key) -> std::string { return "loaded:" + key; };

  std::vector<impl_under_test> impls;
  impls.push_back(
      {"corral-write-behind",
       [&](std::size_t round, std::uint64_t n) {
         auto cache = rt.make_write_behind_cache<std::string>(write_behind_config(round), store);
         auto put = [&cache](const std::string& k, const std::string& v) {
           return cache.put(k, v);
         };
         auto m = timed_puts(w, n, put);
         if (cache.dirty() != std::min<std::uint64_t>(n, key_count))
           std::fprintf(stderr, "put: round %zu: %zu dirty, expected %zu\n", round, cache.dirty(),
                        static_cast<std::size_t>(std::min<std::uint64_t>(n, key_count)));
         return m;
       },
       {}});
  impls.push_back({"baseline-sharded",
                   [&](std::size_t, std::uint64_t n) {
                     sharded_map<std::string> map;
                     auto put = [&map](const std::string& k, const std::string& v) {
                       map.put(k, v);
                       return true;
                     };
                     return timed_puts(w, n, put);
                   },
                   {}});
  impls.push_back({"corral-read-through",
                   [&](std::size_t round, std::uint64_t n) {
                     corral::cache_config c;
                     c.name = "put-rt-" + std::to_string(round);
                     auto cache = rt.make_cache<std::string>(c, loader);
                     auto put = [&cache](const std::string& k, const std::string& v) {
                       return cache.put(k, v);
                     };
                     return timed_puts(w, n, put);
                   },
                   {}});

  // Untimed warm-up of each impl (page faults of a first 100,000-entry table, the thread's
  // corral slot), then interleaved rounds.
  std::fprintf(stderr, "put: warm-up...\n");
  for (auto& impl : impls)
    impl.run(1000 + (&impl - impls.data()), key_count);
  for (std::size_t r = 0; r < rounds; ++r) {
    std::fprintf(stderr, "put: round %zu of %zu...\n", r + 1, rounds);
    for (std::size_t k = 0; k < impls.size(); ++k) {
      auto& impl = impls[(r + k) % impls.size()];
      auto m = impl.run(r, ops);
      impl.total.ops += m.ops;
      impl.total.seconds += m.seconds;
      impl.total.cpu_seconds += m.cpu_seconds;
      impl.total.allocs += m.allocs;
      impl.total.refused += m.refused;
      impl.min_ns = std::min(impl.min_ns, m.ns_per_op());
      impl.max_ns = std::max(impl.max_ns, m.ns_per_op());
    }
  }

  for (const auto& impl : impls) {
    const auto& m = impl.total;
    json_line line{"put", impl.name};
    line.field("threads", 1)
        .field("keys", key_count)
        .field("puts_per_round", ops)
        .field("rounds", rounds)
        .field("ns_per_op", m.ns_per_op())
        .field("allocs_per_op", static_cast<double>(m.allocs) / static_cast<double>(m.ops))
        .field("refused", m.refused)
        .field("ns_per_op_min_round", impl.min_ns)
        .field("ns_per_op_max_round", impl.max_ns)
        .field("cpu_ns_per_op", m.cpu_seconds * 1e9 / static_cast<double>(m.ops))
        .field("cpu_share", m.cpu_seconds / m.seconds);
    if (std::string{impl.name} == "corral-write-behind")
      line.field("target_under_200ns", m.ns_per_op() < 200.0);
    line.print();
  }
}

const registrar reg{"put",
                    "ns/op and allocs/op of a put, 1 thread, 1,000,000 puts over 100,000 keys: "
                    "write-behind cache vs sharded map (and a read-through cache's put)",
                    60, &run_put};

} // namespace
} // namespace bench
