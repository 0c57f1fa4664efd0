// cache_tier<V>: a cache your project already has (Redis, memcached, a map) placed in front of
// the source loader. A load asks tier 1 first; a tier-1 hit is stored without calling the
// source; a tier-1 miss or error falls through to the source, and a source success is written
// back to tier 1 on the loader pool, off the requester's path. invalidate() erases the key from
// tier 1 before it drops the in-memory entry, so a later load cannot bring the old value back.
// This is also how corral takes the spike manager's "custom cache backend".
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "runtime/cache_core.hpp"

namespace corral {

template <class V> class cache_tier {
public:
  virtual ~cache_tier() = default;
  /// The key's value, std::nullopt when absent. Throw when the tier is broken: the source is
  /// asked instead and the failure is counted as a tier-1 error.
  virtual std::optional<V> get(const std::string& key) = 0;
  /// Stores a value the source produced.
  virtual void set(const std::string& key, const V& value) = 0;
  /// Removes the key (called by invalidate()).
  virtual void erase(const std::string& key) = 0;
};

/// The type-erased tier the core uses.
struct erased_tier {
  enum class status { hit, miss, error };
  struct lookup {
    status result = status::miss;
    std::unique_ptr<entry> value;
    std::string error_message;
  };
  std::function<lookup(const std::string&)> get;
  /// Returns a job that writes back a copy of the entry's value (taken now, while it is alive).
  std::function<std::function<void()>(const std::string&, const entry&)> write_back;
  std::function<void(const std::string&)> erase;
};

template <class V> std::shared_ptr<erased_tier> erase_tier(std::shared_ptr<cache_tier<V>> tier) {
  auto out = std::make_shared<erased_tier>();
  out->get = [tier](const std::string& key) {
    erased_tier::lookup r;
    try {
      if (auto v = tier->get(key)) {
        r.result = erased_tier::status::hit;
        r.value = std::make_unique<value_entry<V>>(std::move(*v));
      }
    } catch (const std::exception& ex) {
      r.result = erased_tier::status::error;
      r.error_message = ex.what();
    } catch (...) {
      r.result = erased_tier::status::error;
      r.error_message = "tier 1 threw a non-standard exception";
    }
    return r;
  };
  out->write_back = [tier](const std::string& key, const entry& e) -> std::function<void()> {
    return [tier, key, value = static_cast<const value_entry<V>&>(e).value] {
      try {
        tier->set(key, value);
      } catch (...) {
        // A failed write-back only costs a future tier-1 miss.
      }
    };
  };
  out->erase = [tier](const std::string& key) { tier->erase(key); };
  return out;
}

} // namespace corral
