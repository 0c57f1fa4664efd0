// What a C++ user writes instead of a caching runtime: a std::unordered_map of values, copied
// out to the reader. The benchmarks compare corral against three versions of it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace bench {

/// No lock at all: the floor of "hash the key, find it, copy the value" (only safe because the
/// benchmark never writes while it reads).
template <class V> class bare_map {
public:
  void put(std::string key, V value) { map_.insert_or_assign(std::move(key), std::move(value)); }
  std::optional<V> get(const std::string& key) const {
    auto i = map_.find(key);
    if (i == map_.end())
      return std::nullopt;
    return i->second;
  }
  std::size_t size() const { return map_.size(); }

private:
  std::unordered_map<std::string, V> map_;
};

/// One map under one reader-writer lock: shared_lock to read, unique_lock to write.
template <class V> class unsharded_map {
public:
  void put(std::string key, V value) {
    std::unique_lock<std::shared_mutex> lock{mtx_};
    map_.insert_or_assign(std::move(key), std::move(value));
  }
  std::optional<V> get(const std::string& key) const {
    std::shared_lock<std::shared_mutex> lock{mtx_};
    auto i = map_.find(key);
    if (i == map_.end())
      return std::nullopt;
    return i->second;
  }
  std::size_t size() const {
    std::shared_lock<std::shared_mutex> lock{mtx_};
    return map_.size();
  }

private:
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, V> map_;
};

/// `Shards` unsharded maps, the shard chosen by std::hash of the key; each shard on its own
/// cache lines so that two shards never share a lock's line. As a user writes it, the key is
/// hashed twice: once to pick the shard and once by the shard's map.
template <class V, std::size_t Shards = 64> class sharded_map {
public:
  sharded_map() : shards_(new shard[Shards]) {}

  void put(std::string key, V value) {
    auto& s = shard_of(key);
    s.map.put(std::move(key), std::move(value));
  }
  std::optional<V> get(const std::string& key) const { return shard_of(key).map.get(key); }
  std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < Shards; ++i)
      n += shards_[i].map.size();
    return n;
  }

private:
  struct alignas(64) shard {
    unsharded_map<V> map;
  };
  shard& shard_of(const std::string& key) const {
    return shards_[std::hash<std::string>{}(key) % Shards];
  }
  std::unique_ptr<shard[]> shards_;
};

} // namespace bench
