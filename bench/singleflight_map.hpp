// What a careful C++ user writes by hand for a read-through cache with single-flight loads
// ("baseline-singleflight"): 64 shards, each a std::unordered_map of values and a map of the
// loads in flight (std::shared_future), under one std::shared_mutex per shard.
//
// A hit takes the shard's shared lock. A reader that misses takes the unique lock, looks the
// value map up again (another reader may have stored it meanwhile), and then either finds a
// future in flight and waits on it outside the lock, or inserts its own promise's
// shared_future and becomes the key's leader: it calls the loader outside the lock, then under
// the unique lock stores the value and erases the in-flight entry, and sets the promise last.
// Each shard is on its own cache lines, as in baselines.hpp's sharded_map.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace bench {

template <class V, std::size_t Shards = 64> class singleflight_map {
public:
  singleflight_map() : shards_(new shard[Shards]) {}

  /// The key's value; on a miss, `load(key)` is called once for every concurrent caller of the
  /// same key. A loader's exception reaches the leader and every waiter, and nothing is stored.
  template <class Loader> V get(const std::string& key, const Loader& load) {
    auto& s = shard_of(key);
    {
      std::shared_lock<std::shared_mutex> lock{s.mtx};
      auto i = s.values.find(key);
      if (i != s.values.end())
        return i->second;
    }
    std::optional<std::promise<V>> promise; // made only by the leader
    std::shared_future<V> in_flight;
    {
      std::unique_lock<std::shared_mutex> lock{s.mtx};
      auto i = s.values.find(key);
      if (i != s.values.end())
        return i->second;
      auto f = s.in_flight.find(key);
      if (f != s.in_flight.end()) {
        in_flight = f->second;
      } else {
        promise.emplace();
        in_flight = promise->get_future().share();
        s.in_flight.emplace(key, in_flight);
      }
    }
    if (!promise)
      return in_flight.get(); // a follower: the leader's load answers it
    try {
      V value = load(key);
      {
        std::unique_lock<std::shared_mutex> lock{s.mtx};
        s.values.insert_or_assign(key, value);
        s.in_flight.erase(key);
      }
      promise->set_value(value);
      return value;
    } catch (...) {
      {
        std::unique_lock<std::shared_mutex> lock{s.mtx};
        s.in_flight.erase(key);
      }
      promise->set_exception(std::current_exception());
      throw;
    }
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < Shards; ++i) {
      std::shared_lock<std::shared_mutex> lock{shards_[i].mtx};
      n += shards_[i].values.size();
    }
    return n;
  }

private:
  struct alignas(64) shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<std::string, V> values;
    std::unordered_map<std::string, std::shared_future<V>> in_flight;
  };
  shard& shard_of(const std::string& key) const {
    return shards_[std::hash<std::string>{}(key) % Shards];
  }
  std::unique_ptr<shard[]> shards_;
};

} // namespace bench
