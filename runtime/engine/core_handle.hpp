// core_handle: what a typed cache<V> handle asks of its cache's core, as calls compiled once in
// the library. cache.hpp sees only this and the lock-free reading pieces (entries, epochs,
// counters), so a consumer's translation unit never parses CAF, the key actors or the engine's
// bookkeeping. The price is one out-of-line call per operation, the hit path included: a few
// nanoseconds, measured by `corral-bench hit` (docs/performance.md).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include <corral/runtime/config/config.hpp>
#include <corral/runtime/engine/counters.hpp>
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/engine/reply.hpp>
#include <corral/runtime/engine/thread_slot.hpp>
#include <corral/runtime/error.hpp>
#include <corral/runtime/metrics/metrics.hpp>
#include <corral/store/flush_result.hpp>

namespace corral {

struct cache_core; // runtime/engine/cache_core.hpp
using cache_core_ptr = std::shared_ptr<cache_core>;

class core_handle {
public:
  /// What memory holds for a key: find() says which, and counts it as a request.
  enum class found { fresh, stale, negative, miss, closed };

  core_handle() = default;
  explicit core_handle(cache_core_ptr core) : core_(std::move(core)) {}

  /// The hit path: no message, no lock, no allocation. Requires an epoch_guard while `out` is
  /// used. fresh/stale/negative are counted (when the cache keeps metrics) with `slot`, a closed
  /// cache as an error, unless `count` is false (try_get). A due entry asks for its background
  /// refresh here, as the core's own lookup does.
  found find(std::string_view key, const entry*& out, detail::thread_slot_info slot,
             bool count = true) const noexcept;

  /// Whether the runtime has stopped (every operation then answers errc::shutting_down).
  bool closing() const noexcept;
  /// The answer of a closed cache.
  error closed_error() const;
  /// The answer for a cached "not found".
  error not_found_error(std::string_view key) const;

  time_point now() const;
  void count(counter c) const noexcept;
  thread_counters& counters() const noexcept;

  /// A reply token that answers `sink` once and counts a dropped request.
  reply_token_ptr make_token(std::string_view key, std::shared_ptr<reply_sink> sink) const;
  /// Hands a get to the key's actor (spawned when it has none); `deadline` bounds the wait.
  void send_get(std::string_view key, reply_token_ptr token, time_point deadline) const;

  /// put(): see cache<V>::try_put.
  error put(std::string_view key, std::unique_ptr<entry> value) const;
  /// flush(): see cache<V>::flush.
  flush_result flush(duration timeout) const;
  /// invalidate(): see cache<V>::invalidate.
  bool invalidate(std::string_view key) const;

  std::size_t dirty() const noexcept;
  std::size_t size() const noexcept;
  metrics_snapshot metrics() const;
  counter_values counter_snapshot() const;
  const cache_config& config() const noexcept;

  explicit operator bool() const noexcept { return core_ != nullptr; }
  /// The engine's core, for the library's own CAF-facing code (runtime/caf_interop.hpp).
  const cache_core_ptr& core() const noexcept { return core_; }

private:
  cache_core_ptr core_;
};

} // namespace corral
