// Tier 1 on real threads: corral calls a tier from several loader threads at once (the contract
// at the top of runtime/cache_tier.hpp), and serialized_tier makes a plain-map tier safe.
// Tagged [runtime]: they run CAF's threaded scheduler, which the TSan run leaves out (see dev).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <corral/examples/start_gate.hpp>
#include <corral/runtime/runtime.hpp>
#include <corral/runtime/serialized_tier.hpp>

using namespace corral;
using namespace std::chrono_literals;

namespace {

void raise_max(std::atomic<int>& max, int value) {
  for (int seen = max.load(); value > seen && !max.compare_exchange_weak(seen, value);) {
  }
}

/// A tier over a std::map that detects overlapping calls. A call counts itself in `inside`; a
/// call that finds another one inside records an overlap. Each call then stays inside until a
/// second call is inside too (or `hold` passed), so calls that can overlap do: whether they
/// overlap is decided by who calls, not by a sleep. With `guard_map` the map itself is locked
/// for the moment it is touched, so that the unserialized run is no data race of its own (the
/// overlaps it counts are what a plain map would have suffered); without it, the map is plain.
class overlap_probe final : public cache_tier<std::string> {
public:
  overlap_probe(std::chrono::milliseconds hold, bool guard_map)
      : hold_(hold), guard_map_(guard_map) {}

  std::optional<std::string> get(const std::string& key) override {
    call c{*this};
    return touch([&]() -> std::optional<std::string> {
      auto i = map_.find(key);
      return i == map_.end() ? std::nullopt : std::optional<std::string>{i->second};
    });
  }
  void set(const std::string& key, const std::string& value) override {
    call c{*this};
    touch([&] { map_[key] = value; });
  }
  void erase(const std::string& key) override {
    call c{*this};
    touch([&] { map_.erase(key); });
    ++erases;
  }

  std::atomic<int> calls{0};
  std::atomic<int> overlaps{0};   // calls that found another call inside
  std::atomic<int> max_inside{0}; // most calls inside at once
  std::atomic<int> erases{0};

  /// The map's contents (call only while no tier call can run).
  std::map<std::string, std::string> contents() const { return map_; }

private:
  struct call {
    overlap_probe& p;
    explicit call(overlap_probe& probe) : p(probe) {
      std::unique_lock<std::mutex> lock{p.mtx_};
      ++p.calls;
      if (++p.inside_ > 1)
        ++p.overlaps;
      raise_max(p.max_inside, p.inside_);
      p.cv_.notify_all();
      p.cv_.wait_for(lock, p.hold_, [this] { return p.inside_ >= 2; });
    }
    ~call() {
      std::lock_guard<std::mutex> guard{p.mtx_};
      --p.inside_;
    }
  };

  template <class F> auto touch(F f) -> decltype(f()) {
    if (!guard_map_)
      return f();
    std::lock_guard<std::mutex> guard{map_mtx_};
    return f();
  }

  const std::chrono::milliseconds hold_;
  const bool guard_map_;
  std::mutex mtx_; // guards inside_ and the hold; never held while the map is touched
  std::condition_variable cv_;
  int inside_ = 0;
  std::mutex map_mtx_; // used only with guard_map_
  std::map<std::string, std::string> map_;
};

/// Forwards to `inner` and counts the calls in progress at this point, outside any adapter:
/// `max_pending` >= 2 shows that calls really arrived at once (so "no overlap" further in is
/// the adapter's doing, not a lack of concurrency).
class arrival_gauge final : public cache_tier<std::string> {
public:
  explicit arrival_gauge(std::shared_ptr<cache_tier<std::string>> inner)
      : inner_(std::move(inner)) {}

  std::optional<std::string> get(const std::string& key) override {
    pending p{*this};
    return inner_->get(key);
  }
  void set(const std::string& key, const std::string& value) override {
    pending p{*this};
    inner_->set(key, value);
  }
  void erase(const std::string& key) override {
    pending p{*this};
    inner_->erase(key);
  }

  std::atomic<int> max_pending{0};

private:
  struct pending {
    arrival_gauge& g;
    explicit pending(arrival_gauge& gauge) : g(gauge) { raise_max(g.max_pending, ++g.now_); }
    ~pending() { --g.now_; }
  };
  std::atomic<int> now_{0};
  std::shared_ptr<cache_tier<std::string>> inner_;
};

const std::vector<std::string> keys{"k0", "k1", "k2", "k3", "k4", "k5"};
constexpr int rounds = 3;
constexpr int requesters = 48; // 8 per key

runtime_config four_loader_threads() {
  runtime_config cfg;
  cfg.scheduler_threads = 2;
  cfg.loader_threads = 4;
  return cfg;
}

cache_config tiered(std::string name) {
  cache_config c;
  c.name = std::move(name);
  c.ttl = 1h;
  return c;
}

/// Starts `n` threads at once, each running f(thread_index), and joins them.
template <class F> void run_concurrently(int n, F f) {
  corral::examples::start_gate gate;
  std::vector<std::thread> pool;
  for (int t = 0; t < n; ++t)
    pool.emplace_back([&, t] {
      gate.wait();
      f(t);
    });
  gate.open();
  for (auto& th : pool)
    th.join();
}

/// `rounds` times: 48 concurrent cold gets over the 6 keys (tier-1 gets, source loads, then
/// write-back sets on the loader pool), then the 6 keys invalidated concurrently (tier-1
/// erases). Returns the gets that did not get "v-" + key.
int drive(cache<std::string>& c) {
  std::atomic<int> wrong{0};
  for (int round = 0; round < rounds; ++round) {
    run_concurrently(requesters, [&](int t) {
      const auto& key = keys[static_cast<std::size_t>(t) % keys.size()];
      auto r = c.get(key, 30s);
      if (!r.ok() || r.value() != "v-" + key)
        ++wrong;
    });
    run_concurrently(static_cast<int>(keys.size()),
                     [&](int t) { c.invalidate(keys[static_cast<std::size_t>(t)]); });
  }
  return wrong.load();
}

std::string source(const std::string& key) {
  return "v-" + key;
}

} // namespace

TEST_CASE("corral calls a tier from several loader threads at once: a plain map is not safe",
          "[runtime][tier][serialized_tier]") {
  // Guarded map (see overlap_probe). The 250 ms hold bounds only the wait of a call that no
  // other call joins; calls that overlap release each other at once.
  auto probe = std::make_shared<overlap_probe>(250ms, true);
  auto gauge = std::make_shared<arrival_gauge>(probe);
  {
    runtime rt{four_loader_threads()};
    auto c = rt.make_cache<std::string>(tiered("raw"), source, gauge);
    CHECK(drive(c) == 0);
  } // the runtime (and its pending write-backs) is gone: no tier call runs now
  CHECK(probe->erases == rounds * static_cast<int>(keys.size()));
  // The contract in runtime/cache_tier.hpp: corral does not serialize tier calls.
  CHECK(probe->overlaps > 0);
  CHECK(probe->max_inside >= 2);
  CHECK(gauge->max_pending >= 2);
  for (const auto& [key, value] : probe->contents())
    CHECK(value == "v-" + key);
}

TEST_CASE("serialized_tier lets a plain-map tier see one call at a time",
          "[runtime][tier][serialized_tier]") {
  // Unguarded map. The hold is short since no call is ever joined by a second one here (each
  // waits it out); it is still far longer than a waiting caller needs to get in if the
  // adapter let it.
  auto probe = std::make_shared<overlap_probe>(50ms, false);
  auto gauge =
      std::make_shared<arrival_gauge>(std::make_shared<serialized_tier<std::string>>(probe));
  {
    runtime rt{four_loader_threads()};
    auto c = rt.make_cache<std::string>(tiered("serialized"), source, gauge);
    CHECK(drive(c) == 0);
  }
  CHECK(probe->erases == rounds * static_cast<int>(keys.size()));
  CHECK(probe->calls >= 2 * rounds * static_cast<int>(keys.size())); // >= 1 get per key and round
  CHECK(gauge->max_pending >= 2); // calls did arrive at the adapter at once...
  CHECK(probe->overlaps == 0);    // ...and it let them in one at a time
  CHECK(probe->max_inside == 1);
  for (const auto& [key, value] : probe->contents())
    CHECK(value == "v-" + key);
}

namespace {

/// A plain-map tier as a user would write it, for make_serialized_tier (built in place).
class map_tier final : public cache_tier<std::string> {
public:
  explicit map_tier(std::map<std::string, std::string> initial) : map_(std::move(initial)) {}
  std::optional<std::string> get(const std::string& key) override {
    auto i = map_.find(key);
    return i == map_.end() ? std::nullopt : std::optional<std::string>{i->second};
  }
  void set(const std::string& key, const std::string& value) override { map_[key] = value; }
  void erase(const std::string& key) override {
    if (key == "stuck")
      throw std::runtime_error("cannot erase " + key);
    map_.erase(key);
  }

private:
  std::map<std::string, std::string> map_;
};

} // namespace

TEST_CASE("make_serialized_tier builds a tier in place for register_tier, and throws pass through",
          "[runtime][tier][serialized_tier]") {
  runtime_config cfg = four_loader_threads();
  cache_config named = tiered("by_name");
  named.loader = "source";
  named.tier1 = "map";
  cfg.caches.push_back(named);
  runtime rt{cfg};
  rt.register_loader<std::string>("source", source);
  rt.register_tier<std::string>(
      "map", make_serialized_tier<map_tier>(std::map<std::string, std::string>{{"a", "tier-a"}}));
  auto c = rt.cache<std::string>("by_name");
  CHECK(c.get("a", 30s).value() == "tier-a"); // a tier-1 hit
  CHECK(c.get("b", 30s).value() == "v-b");    // a miss, loaded from the source
  CHECK(c.counters()[static_cast<std::size_t>(counter::tier1_hits)] == 1);
  CHECK_THROWS_WITH(c.invalidate("stuck"), "cannot erase stuck");
  CHECK_THROWS_AS(serialized_tier<std::string>{nullptr}, std::invalid_argument);
}
