// cache<V>: the typed handle to one named cache. Cheap to copy, usable from any thread.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <corral/runtime/cache_tier.hpp>
#include <corral/runtime/engine/cache_core.hpp>
#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/reply_sinks.hpp>
#include <corral/runtime/result.hpp>
#include <corral/store/writer_actor.hpp>

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
    if (auto closed = closed_error()) {
      core_->count(counter::errors);
      return *closed; // checked first: a stopped runtime's clock may be gone
    }
    return get_until(key, saturating_add(core_->now(), timeout));
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
    if (core_->closing.load(std::memory_order_relaxed))
      return std::nullopt;
    detail::epoch_guard guard;
    const entry* e = nullptr;
    auto kind = core_->fast_lookup(key, core_->hit_now(), e);
    if (kind == cache_core::lookup::fresh || kind == cache_core::lookup::stale)
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
    if (auto closed = closed_error())
      return *closed;
    return core_->put_entry(key, std::unique_ptr<entry>(new value_entry<V>(std::move(value))));
  }

  /// Write-behind caches: returns once everything dirty now is written to the store or
  /// dead-lettered (or `timeout` passed: then `complete` is false and `unwritten` says how
  /// many are left). A read-through cache has nothing to flush.
  flush_result flush(duration timeout = std::chrono::seconds(30)) const {
    if (!core_->write_behind) {
      flush_result r;
      r.complete = true;
      return r;
    }
    if (auto closed = closed_error()) {
      flush_result r;
      r.error = closed->message;
      return r;
    }
    return flush_write_behind(*core_, timeout);
  }

  /// Unwritten entries (write-behind caches).
  std::size_t dirty() const { return core_->table.dirty_count(); }

  /// Drops the key's entry; a load in flight for it cannot store its now-stale result.
  /// Returns whether an entry was dropped (false, doing nothing, once the runtime stopped).
  /// With a tier 1, the key is erased there first (on this thread), so that no later load can
  /// bring the old value back; if that throws, the in-memory entry is still dropped and the
  /// exception reaches the caller.
  bool invalidate(std::string_view key) const {
    if (closed_error())
      return false;
    core_->count(counter::invalidations);
    return core_->invalidate_both(key);
  }

  /// The cache's metrics now: last / cycle / total windows and gauges (no message involved).
  metrics_snapshot metrics() const { return core_->metrics_now(); }

  /// The cache's actor, for CAF actors and remote nodes (see messages/cache_messages.hpp).
  /// Valid while the runtime runs; a null handle after shutdown.
  cache_actor actor() const { return caf::actor_cast<cache_actor>(core_->supervisor_handle()); }

  const cache_config& config() const { return core_->cfg; }
  const std::string& name() const { return core_->cfg.name; }
  counter_values counters() const { return core_->counters.snapshot(); }
  std::size_t size() const { return core_->table.size(); }
  explicit operator bool() const noexcept { return core_ != nullptr; }

private:
  static std::future<result<V>> ready(result<V> r) {
    std::promise<result<V>> p;
    p.set_value(std::move(r));
    return p.get_future();
  }

  /// The answer when memory has it (fresh value, cached "not found", stale value) or when the
  /// runtime is closed; nullopt when the key actor must be asked.
  std::optional<error> closed_error() const {
    if (!core_->closing.load(std::memory_order_relaxed))
      return std::nullopt;
    return error{errc::shutting_down, "cache '" + core_->cfg.name + "' is closed"};
  }

  std::optional<result<V>> from_memory(std::string_view key) const {
    if (auto closed = closed_error()) {
      core_->count(counter::errors);
      return result<V>{std::move(*closed)};
    }
    auto slot = detail::current_thread_slot(); // looked up once for the guard and the counter
    detail::epoch_guard guard{slot};
    const entry* e = nullptr;
    switch (core_->fast_lookup(key, core_->hit_now(), e)) {
    case cache_core::lookup::fresh:
      if (core_->cfg.metrics)
        core_->count(counter::hits, slot);
      return std::optional<result<V>>{std::in_place, static_cast<const value_entry<V>*>(e)->value};
    case cache_core::lookup::stale:
      if (core_->cfg.metrics)
        core_->count(counter::stale_hits, slot);
      return std::optional<result<V>>{std::in_place, static_cast<const value_entry<V>*>(e)->value};
    case cache_core::lookup::negative:
      if (core_->cfg.metrics)
        core_->count(counter::negative_hits, slot);
      return result<V>{
          error{errc::not_found,
                "key '" + std::string{key} + "' not found in cache '" + core_->cfg.name + "'"}};
    case cache_core::lookup::miss:
      break;
    }
    return std::nullopt;
  }

  void send_get(std::string_view key, std::shared_ptr<reply_sink> sink,
                std::optional<duration> timeout) const {
    auto deadline = timeout ? saturating_add(core_->now(), *timeout) : time_point::max();
    std::string k{key};
    core_->send_to_key(k, local_get_msg{k, make_token(key, std::move(sink)), deadline});
  }

  reply_token_ptr make_token(std::string_view key, std::shared_ptr<reply_sink> sink) const {
    return std::make_shared<reply_token>(std::move(sink), std::string{key}, core_,
                                         &core_->counters);
  }

  result<V> get_until(std::string_view key, time_point deadline) const {
    if (auto r = from_memory(key))
      return std::move(*r);
    auto sink = std::make_shared<blocking_sink<V>>();
    auto token = make_token(key, sink);
    // Only the message owns the token: if it is dropped (the runtime stopped between our
    // `closing` check and the send), the token's destructor answers "shutting down" at once.
    // Holding it here would keep that answer from ever coming.
    std::weak_ptr<reply_token> mine = token;
    std::string k{key};
    core_->send_to_key(k, local_get_msg{k, std::move(token), deadline});
    // The key actor answers at the deadline; the extra margin only guards against a reply that
    // is late (a flooded machine). Giving up answers the token, so the key actor cannot count
    // the request a second time.
    if (auto r = sink->wait(saturating_add(deadline, std::chrono::milliseconds(200))))
      return std::move(*r);
    if (auto still_queued = mine.lock())
      still_queued->deliver(outcome::failed(errc::timeout, "request for key '" + std::string{key} +
                                                               "' passed its deadline"),
                            core_->counters, counter::timeouts);
    return std::move(*sink->wait(time_point::max())); // answered: by us, or by whoever won
  }

  cache_core_ptr core_;
};

} // namespace corral
