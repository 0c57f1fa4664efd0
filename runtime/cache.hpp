// cache<V>: the typed handle to one named cache. Cheap to copy, usable from any thread.
// Its message interface, for CAF actors and remote nodes, is actor_of(cache) in
// <corral/runtime/caf_interop.hpp>.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <corral/runtime/engine/core_handle.hpp>
#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/reply_sinks.hpp>
#include <corral/runtime/result.hpp>

namespace corral {

template <class V> class cache {
  static_assert(std::is_copy_constructible_v<V>,
                "cache values are copied out to readers; wrap move-only values in "
                "std::shared_ptr<const T>");

public:
  cache() = default;
  explicit cache(cache_core_ptr core) : core_(std::move(core)) {}

  /// The key's value: from memory when fresh (no message, no allocation), otherwise through
  /// the key's actor, which loads it once for every concurrent caller. A miss goes straight to
  /// that actor (found or spawned in the cache's key registry), never through the supervisor.
  /// A miss fails at once with errc::overloaded when the cache's bulkhead queue is full
  /// (max_queued_loads).
  result<V> get(std::string_view key) const { return get_until(key, time_point::max()); }

  /// As get(key), but gives up with errc::timeout after `timeout`; other waiters of the same
  /// load are not affected.
  result<V> get(std::string_view key, duration timeout) const {
    if (core_.closing()) {
      core_.count(counter::errors);
      return core_.closed_error(); // checked first: a stopped runtime's clock may be gone
    }
    return get_until(key, saturating_add(core_.now(), timeout));
  }

  /// Asynchronous get: the future is ready at once on a hit.
  std::future<result<V>> get_async(std::string_view key,
                                   std::optional<duration> timeout = std::nullopt) const {
    if (auto r = from_memory(key))
      return ready(std::move(*r));
    auto sink = std::make_shared<promise_sink<V>>();
    auto fut = sink->future();
    send_get(key, sink, timeout);
    return fut;
  }

  /// Asynchronous get with a callback: called on this thread on a hit, otherwise on a CAF
  /// thread (the key's actor), exactly once. The callback must not block.
  void get_async(std::string_view key, std::function<void(result<V>)> callback,
                 std::optional<duration> timeout = std::nullopt) const {
    if (auto r = from_memory(key)) {
      callback(std::move(*r));
      return;
    }
    send_get(key, std::make_shared<callback_sink<V>>(std::move(callback)), timeout);
  }

  /// The value if it is in memory (fresh, or stale inside stale_while_revalidate); never loads.
  std::optional<V> try_get(std::string_view key) const {
    auto slot = detail::current_thread_slot();
    detail::epoch_guard guard{slot};
    const entry* e = nullptr;
    auto kind = core_.find(key, e, slot, /*count=*/false);
    if (kind == core_handle::found::fresh || kind == core_handle::found::stale)
      return static_cast<const value_entry<V>*>(e)->value;
    return std::nullopt;
  }

  /// Stores a value, visible at once to every reader. A load that started before this put
  /// never overwrites it. Returns false (and stores nothing) once the runtime has stopped.
  bool put(std::string_view key, V value) const {
    return try_put(key, std::move(value)).code == errc::none;
  }

  /// As put(), saying why a put was refused: errc::shutting_down once the runtime stopped, or
  /// errc::backlog_full on a write-behind cache whose store cannot keep up (max_dirty).
  error try_put(std::string_view key, V value) const {
    return core_.put(key, std::unique_ptr<entry>(new value_entry<V>(std::move(value))));
  }

  /// Write-behind caches: returns once everything dirty now is written to the store or
  /// dead-lettered (or `timeout` passed: then `complete` is false and `unwritten` says how
  /// many are left). A read-through cache has nothing to flush.
  flush_result flush(duration timeout = std::chrono::seconds(30)) const {
    return core_.flush(timeout);
  }

  /// Unwritten entries (write-behind caches).
  std::size_t dirty() const { return core_.dirty(); }

  /// Drops the key's entry; a load in flight for it cannot store its now-stale result.
  /// Returns whether an entry was dropped (false, doing nothing, once the runtime stopped).
  /// With a tier 1, the key is erased there first (on this thread), so that no later load can
  /// bring the old value back; if that throws, the in-memory entry is still dropped and the
  /// exception reaches the caller.
  bool invalidate(std::string_view key) const { return core_.invalidate(key); }

  /// The cache's metrics now: last / cycle / total windows and gauges (no message involved).
  metrics_snapshot metrics() const { return core_.metrics(); }

  const cache_config& config() const { return core_.config(); }
  const std::string& name() const { return core_.config().name; }
  counter_values counters() const { return core_.counter_snapshot(); }
  std::size_t size() const { return core_.size(); }
  explicit operator bool() const noexcept { return static_cast<bool>(core_); }
  /// The type-erased core (for the library's CAF-facing code, runtime/caf_interop.hpp).
  const core_handle& handle() const noexcept { return core_; }

private:
  static std::future<result<V>> ready(result<V> r) {
    std::promise<result<V>> p;
    p.set_value(std::move(r));
    return p.get_future();
  }

  /// The answer when memory has it (fresh value, cached "not found", stale value) or when the
  /// runtime is closed; nullopt when the key actor must be asked.
  std::optional<result<V>> from_memory(std::string_view key) const {
    auto slot = detail::current_thread_slot(); // looked up once for the guard and the counter
    detail::epoch_guard guard{slot};
    const entry* e = nullptr;
    switch (core_.find(key, e, slot)) {
    case core_handle::found::fresh:
    case core_handle::found::stale:
      return std::optional<result<V>>{std::in_place, static_cast<const value_entry<V>*>(e)->value};
    case core_handle::found::negative:
      return result<V>{core_.not_found_error(key)};
    case core_handle::found::closed:
      return result<V>{core_.closed_error()};
    case core_handle::found::miss:
      break;
    }
    return std::nullopt;
  }

  void send_get(std::string_view key, std::shared_ptr<reply_sink> sink,
                std::optional<duration> timeout) const {
    auto deadline = timeout ? saturating_add(core_.now(), *timeout) : time_point::max();
    core_.send_get(key, core_.make_token(key, std::move(sink)), deadline);
  }

  result<V> get_until(std::string_view key, time_point deadline) const {
    if (auto r = from_memory(key))
      return std::move(*r);
    auto sink = std::make_shared<blocking_sink<V>>();
    auto token = core_.make_token(key, sink);
    // Only the message owns the token: if it is dropped (the runtime stopped between our
    // `closing` check and the send), the token's destructor answers "shutting down" at once.
    // Holding it here would keep that answer from ever coming.
    std::weak_ptr<reply_token> mine = token;
    core_.send_get(key, std::move(token), deadline);
    // The key actor answers at the deadline; the extra margin only guards against a reply that
    // is late (a flooded machine). Giving up answers the token, so the key actor cannot count
    // the request a second time.
    if (auto r = sink->wait(saturating_add(deadline, std::chrono::milliseconds(200))))
      return std::move(*r);
    if (auto still_queued = mine.lock())
      still_queued->deliver(outcome::failed(errc::timeout, "request for key '" + std::string{key} +
                                                               "' passed its deadline"),
                            core_.counters(), counter::timeouts);
    return std::move(*sink->wait(time_point::max())); // answered: by us, or by whoever won
  }

  core_handle core_;
};

} // namespace corral
