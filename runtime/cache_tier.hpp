// cache_tier<V>: a cache your project already has (Redis, memcached, a map) placed in front of
// the source loader. A load asks tier 1 first; a tier-1 hit is stored without calling the
// source; a tier-1 miss or error falls through to the source, and a source success is written
// back to tier 1 on the loader pool, off the requester's path. invalidate() erases the key from
// tier 1 before it drops the in-memory entry, so a later load cannot bring the old value back.
// This is also how corral takes the spike manager's "custom cache backend".
//
// Threads: a tier MUST BE THREAD-SAFE. corral does not serialize calls to it; a tier over a
// plain std::map or unordered_map is a data race. Wrap such a tier in
// corral::serialized_tier<V> (runtime/serialized_tier.hpp), which holds one mutex around every
// call.
//   - get runs on a loader-pool thread, for every load (and for each key of a batch load),
//     with no corral lock held: gets overlap each other and any set or erase, of other keys
//     and of the same key (an invalidate during a load; a new load after load_timeout
//     abandoned a hung one).
//   - set runs on a loader-pool thread (a write-back job after the requesters are answered).
//   - erase runs on the thread that called cache::invalidate(), or on a loader-pool thread for
//     an invalidate message.
//   - set and erase run under a corral lock per stripe of keys (64 stripes): sets and erases
//     of the same key never overlap one another; those of keys in other stripes do.
//   - corral itself never calls a tier on CAF's scheduler threads.
// Blocking: every method may block (network I/O is expected). A slow get delays its load (it
// counts against load_timeout) and holds a loader thread; a slow set holds a loader thread and
// the key's stripe lock, so invalidate() of keys in that stripe waits for it; a slow erase
// delays invalidate(). A tier must not call back into the cache it serves (a get of a key being
// loaded would wait for the very load that is calling the tier).
// Throwing: get throwing is a tier-1 error (counted; the source is asked instead). A throwing
// set is ignored (it only costs a future tier-1 miss). erase throwing reaches the caller of
// cache::invalidate() after the in-memory entry is dropped anyway (an invalidate message
// still answers ok).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/engine/erased_tier.hpp>

namespace corral {

template <class V> class cache_tier {
public:
  virtual ~cache_tier() = default;
  /// The key's value, std::nullopt when absent. Throw when the tier is broken: the source is
  /// asked instead and the failure is counted as a tier-1 error. Called concurrently with
  /// every other call (see the top of this file).
  virtual std::optional<V> get(const std::string& key) = 0;
  /// Stores a value the source produced. Called concurrently with gets and with sets and
  /// erases of other keys; a throw is ignored.
  virtual void set(const std::string& key, const V& value) = 0;
  /// Removes the key (called by invalidate()). Called concurrently like set; a throw reaches
  /// the caller of cache::invalidate().
  virtual void erase(const std::string& key) = 0;
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
