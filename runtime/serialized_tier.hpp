// serialized_tier<V>: makes a tier that is not thread-safe (a plain std::map, the spike
// manager's custom cache example) safe to hand to corral, which calls a tier from several
// threads at once (see the contract at the top of runtime/cache_tier.hpp). Every get, set and
// erase runs under one mutex, so the wrapped tier sees one call at a time.
//
//   auto tier = corral::make_serialized_tier<map_tier>();              // built in place
//   auto same = std::make_shared<corral::serialized_tier<V>>(my_tier); // or wraps a shared_ptr
//   rt.make_cache<V>(cfg, loader, tier);   // or rt.register_tier<V>("name", tier)
//
// One mutex for all keys is right for an in-process map, whose calls are short. It is wrong for
// a tier that does I/O (Redis, memcached): one slow call would stall every load that asks tier
// 1. Such a tier should be thread-safe itself (a client per call, a connection pool). Calls made
// to the wrapped tier directly, not through this adapter, are not serialized. The mutex is taken
// inside corral's own tier locks, never around them, so it adds no lock-order cycle (the wrapped
// tier must not call back into the adapter). An exception from the wrapped tier passes through
// unchanged, with the mutex released.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <corral/runtime/cache_tier.hpp>

namespace corral {

template <class V> class serialized_tier final : public cache_tier<V> {
public:
  /// Wraps `inner`; throws std::invalid_argument if it is null.
  explicit serialized_tier(std::shared_ptr<cache_tier<V>> inner) : inner_(std::move(inner)) {
    if (!inner_)
      throw std::invalid_argument("serialized_tier: the wrapped tier is null");
  }

  std::optional<V> get(const std::string& key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    return inner_->get(key);
  }
  void set(const std::string& key, const V& value) override {
    std::lock_guard<std::mutex> guard{mtx_};
    inner_->set(key, value);
  }
  void erase(const std::string& key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    inner_->erase(key);
  }

private:
  std::mutex mtx_;
  std::shared_ptr<cache_tier<V>> inner_;
};

namespace detail {
template <class V> V tier_value_of(const cache_tier<V>*); // T's V, for make_serialized_tier
} // namespace detail

/// Builds a `T` (a cache_tier<V>) in place from `args` and wraps it, so that nothing else holds
/// the unserialized tier.
template <class T, class... Args> auto make_serialized_tier(Args&&... args) {
  using V = decltype(detail::tier_value_of(std::declval<const T*>()));
  return std::make_shared<serialized_tier<V>>(std::make_shared<T>(std::forward<Args>(args)...));
}

} // namespace corral
