// The entry table and epoch-based reclamation, directly: versions, growth, eviction, and
// readers racing writers (run under ASan and TSan, a reclamation bug is a crash or a report).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <corral/runtime/engine/entry_table.hpp>
#include <corral/runtime/engine/epoch.hpp>

using namespace corral;

namespace {

std::unique_ptr<entry> make_value(std::string v) {
  return std::make_unique<value_entry<std::string>>(std::move(v));
}

std::string value_of(const entry* e) {
  return static_cast<const value_entry<std::string>*>(e)->value;
}

const time_point t0{};

} // namespace

TEST_CASE("publish refuses versions that are not newer", "[table]") {
  entry_table t;
  auto v1 = t.next_version();
  auto v2 = t.next_version();
  auto e = make_value("new");
  REQUIRE(t.publish("k", e, v2, t0));
  CHECK(e == nullptr); // ownership taken
  auto old = make_value("old");
  CHECK_FALSE(t.publish("k", old, v1, t0));
  CHECK(old != nullptr); // left with the caller
  detail::epoch_guard g;
  CHECK(value_of(t.find_exact("k")) == "new");
  CHECK(t.size() == 1);
}

TEST_CASE("erase leaves a version floor that older loads cannot pass", "[table]") {
  entry_table t;
  auto load_version = t.next_version(); // a load starts
  auto e = make_value("v");
  REQUIRE(t.publish("k", e, t.next_version(), t0));
  CHECK(t.erase("k")); // an invalidate
  auto late = make_value("stale");
  CHECK_FALSE(t.publish("k", late, load_version, t0));
  detail::epoch_guard g;
  CHECK(t.find_exact("k") == nullptr);
  CHECK(t.size() == 0);
}

TEST_CASE("every key stays findable while shards grow", "[table]") {
  entry_table t{4};
  for (int i = 0; i < 20000; ++i) {
    auto e = make_value("v" + std::to_string(i));
    REQUIRE(t.publish("k" + std::to_string(i), e, t.next_version(), t0));
  }
  CHECK(t.size() == 20000);
  detail::epoch_guard g;
  for (int i = 0; i < 20000; ++i) {
    auto key = "k" + std::to_string(i);
    auto* e = t.find(key, entry_table::hash_key(key));
    REQUIRE(e != nullptr);
    CHECK(value_of(e) == "v" + std::to_string(i));
  }
}

TEST_CASE("erase of an absent key still keeps older loads out, and newer ones in", "[table]") {
  entry_table t;
  auto load_version = t.next_version();
  CHECK_FALSE(t.erase("k")); // nothing to drop, but the floor rises
  auto late = make_value("stale");
  CHECK_FALSE(t.publish("k", late, load_version, t0));
  CHECK(t.publish("k", late, t.next_version(), t0)); // a load that started after the erase
  CHECK(t.size() == 1);
}

TEST_CASE("the floors are per slot: loads of most other keys are not affected", "[table]") {
  entry_table t;
  auto load_version = t.next_version();
  CHECK_FALSE(t.erase("gone"));
  int stored = 0;
  for (int i = 0; i < 1000; ++i) {
    auto e = make_value("v");
    stored += t.publish("k" + std::to_string(i), e, load_version, t0);
  }
  CHECK(stored >= 950); // 1 slot in 4096 is fenced: about 0.25 of 1000 keys share it
}

TEST_CASE("a put takes its version under the lock and wins over an earlier publish", "[table]") {
  entry_table t;
  auto loaded = make_value("loaded");
  REQUIRE(t.publish("k", loaded, t.next_version(), t0));
  auto put = make_value("put");
  REQUIRE(t.publish_newest("k", put, t0));
  detail::epoch_guard g;
  CHECK(value_of(t.find_exact("k")) == "put");
}

TEST_CASE("evicting a written entry keeps loads that started before its write out", "[table]") {
  entry_table t;
  auto e = make_value("new");
  e->dirty = true;
  REQUIRE(t.publish_newest("k", e, t0));
  auto read_before_commit = t.next_version(); // a load reads the store's older row
  std::uint64_t written = 0;
  {
    detail::epoch_guard g;
    written = t.find_exact("k")->version;
  }
  REQUIRE(t.mark_clean("k", written)); // committed
  REQUIRE(t.evict("k"));
  auto old = make_value("old");
  CHECK_FALSE(t.publish("k", old, read_before_commit, t0));
  CHECK(t.publish("k", old, t.next_version(), t0)); // a load after the commit reads "new" rows
}

TEST_CASE("a written entry replaced by a later load, then evicted, still keeps older loads out",
          "[table]") {
  entry_table t;
  auto put = make_value("new");
  put->dirty = true;
  REQUIRE(t.publish_newest("k", put, t0));
  std::uint64_t written = 0;
  {
    detail::epoch_guard g;
    written = t.find_exact("k")->version;
  }
  auto read_before_commit = t.next_version(); // reads the store's older row
  REQUIRE(t.mark_clean("k", written));
  auto reload = make_value("new"); // a load after the commit: its entry has no load_floor
  REQUIRE(t.publish("k", reload, t.next_version(), t0));
  REQUIRE(t.evict("k"));
  auto old = make_value("old");
  CHECK_FALSE(t.publish("k", old, read_before_commit, t0));
}

TEST_CASE("a load that started before an evicted put cannot store after it", "[table]") {
  entry_table t;
  auto load_version = t.next_version(); // a refresh reads the backend's older value
  auto put = make_value("new");
  REQUIRE(t.publish_newest("k", put, t0));
  REQUIRE(t.evict("k"));
  auto old = make_value("old");
  CHECK_FALSE(t.publish("k", old, load_version, t0));
}

TEST_CASE("thousands of invalidations during a load fence only a share of other keys", "[table]") {
  entry_table t;
  auto load_version = t.next_version(); // 1,000 misses in flight...
  for (int i = 0; i < 4096; ++i)        // ...while 4,096 absent keys are invalidated
    t.erase("gone" + std::to_string(i));
  int stored = 0;
  for (int i = 0; i < 1000; ++i) {
    auto e = make_value("v");
    stored += t.publish("k" + std::to_string(i), e, load_version, t0);
  }
  // 1 - (1 - 1/16384)^4096 = 22% of the slots are fenced: about 780 of 1,000 store.
  CHECK(stored >= 700);
}

TEST_CASE("erase leaves an unwritten entry as it is", "[table]") {
  entry_table t;
  auto e = make_value("dirty");
  e->dirty = true;
  REQUIRE(t.publish_newest("k", e, t0));
  CHECK_FALSE(t.erase("k"));
  CHECK(t.size() == 1);
  CHECK(t.dirty_count() == 1);
}

TEST_CASE("evict removes the key, sample sees every key of a small table", "[table]") {
  entry_table t;
  for (int i = 0; i < 10; ++i) {
    auto e = make_value("v");
    t.publish("k" + std::to_string(i), e, t.next_version(), t0);
  }
  std::mt19937_64 rng{1};
  CHECK(t.sample(100, rng).size() == 10);
  CHECK(t.evict("k3"));
  CHECK_FALSE(t.evict("k3"));
  CHECK(t.size() == 9);
  detail::epoch_guard g;
  CHECK(t.find_exact("k3") == nullptr);
}

TEST_CASE("a retired object is freed only after every reader that could see it left",
          "[table][epoch]") {
  auto& domain = detail::epoch_domain::instance();
  static std::atomic<int> freed{0};
  freed = 0;
  std::atomic<bool> reading{false};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    detail::epoch_guard g;
    reading = true;
    while (!done)
      std::this_thread::yield();
  });
  while (!reading)
    std::this_thread::yield();
  domain.retire(new int(1), [](void* p) {
    delete static_cast<int*>(p);
    ++freed;
  });
  domain.reclaim();
  CHECK(freed == 0); // the reader may still hold it
  done = true;
  reader.join();
  domain.reclaim();
  CHECK(freed == 1);
}

TEST_CASE("readers racing publishers, growth and eviction only ever see whole entries",
          "[table][epoch][stress]") {
  entry_table t{2};
  constexpr int keys = 2000;
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::atomic<long> seen{0};
  auto reader = [&] {
    long local = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < keys; i += 7) {
        auto key = "k" + std::to_string(i);
        detail::epoch_guard g;
        const entry* e = t.find(key, entry_table::hash_key(key));
        if (e == nullptr)
          continue;
        // Every value written for key kI starts with "kI:".
        if (value_of(e).compare(0, key.size() + 1, key + ":") != 0)
          ++bad;
        ++local;
      }
    }
    seen += local;
  };
  std::thread r1(reader), r2(reader);
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < keys; ++i) {
      auto key = "k" + std::to_string(i);
      auto e = make_value(key + ":" + std::to_string(round));
      t.publish(key, e, t.next_version(), t0);
    }
    for (int i = round % 3; i < keys; i += 3)
      t.evict("k" + std::to_string(i));
  }
  stop = true;
  r1.join();
  r2.join();
  CHECK(bad == 0);
  CHECK(seen > 0);
}

TEST_CASE("a thread without an epoch slot can publish inside a guard without deadlock",
          "[table][epoch]") {
  // Park threads holding slots until one thread is given none (the 257th live thread).
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> parked;
  std::atomic<bool> got_shared{false};
  std::atomic<int> started{0};
  while (!got_shared && parked.size() < 1000) {
    parked.emplace_back([&] {
      if (!detail::current_thread_slot().exclusive)
        got_shared = true;
      ++started;
      std::unique_lock<std::mutex> l{m};
      cv.wait(l, [&] { return release; });
    });
    while (started < static_cast<int>(parked.size()))
      std::this_thread::yield();
  }
  REQUIRE(got_shared);
  // This thread has no slot either: a guard held across many retirements (one per replaced
  // entry, several reclaim batches) must neither deadlock nor free what it may still read.
  std::thread overflow([&] {
    REQUIRE_FALSE(detail::current_thread_slot().exclusive);
    entry_table t;
    detail::epoch_guard outer;
    detail::epoch_guard inner; // reentrant
    for (int i = 0; i < 2000; ++i) {
      auto e = make_value("v" + std::to_string(i));
      t.publish("k", e, t.next_version(), t0);
    }
    CHECK(value_of(t.find_exact("k")) == "v1999");
  });
  overflow.join();
  {
    std::lock_guard<std::mutex> l{m};
    release = true;
  }
  cv.notify_all();
  for (auto& th : parked)
    th.join();
}
