// The state one named cache shares between its typed handles (any thread), its supervisor and
// its key actors. Everything here is type-erased; cache<V> adds the types back.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/send.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/config/config.hpp>
#include <corral/runtime/engine/bulkhead.hpp>
#include <corral/runtime/engine/counters.hpp>
#include <corral/runtime/engine/entry_table.hpp>
#include <corral/runtime/engine/erased_loader.hpp>
#include <corral/runtime/engine/eviction_policy.hpp>
#include <corral/runtime/engine/executor.hpp>
#include <corral/runtime/engine/key_registry.hpp>
#include <corral/runtime/engine/load_watch.hpp>
#include <corral/runtime/engine/log_sink.hpp>
#include <corral/runtime/engine/value_ops.hpp>
#include <corral/runtime/engine/xfetch.hpp>
#include <corral/runtime/metrics/metrics_store.hpp>

namespace corral {

struct erased_tier;       // runtime/engine/erased_tier.hpp
struct write_behind_link; // store/write_behind.hpp

struct cache_core : std::enable_shared_from_this<cache_core> {
  cache_core(cache_config c, const value_ops& o, erased_loader l, executor& ex,
             caf::actor_clock& clk, std::size_t metric_windows = 6,
             duration metric_cycle = std::chrono::seconds(10))
      : cfg(std::move(c)), ops(o), loader(std::move(l)), loads(ex),
        load_slots(ex, cfg.max_concurrent_loads, cfg.max_queued_loads), clock(clk),
        windows(metric_windows, static_cast<std::uint64_t>(metric_cycle.count())),
        coarse_clock_(uses_real_time(clk)) {}

  /// Whether `clk` is the system's real clock (not CAF's test clock).
  static bool uses_real_time(const caf::actor_clock& clk) noexcept;

  const cache_config cfg;
  const value_ops& ops;
  const erased_loader loader; // may be empty: misses then fail with errc::no_loader
  /// Optional tier 1 asked before the loader (two-tier load); set before the supervisor starts.
  std::shared_ptr<erased_tier> tier1;
  /// Optional batch loader (runtime/batch_loader.hpp); set before the supervisor starts. When
  /// set, key actors hand their loads to `batcher` instead of the loader pool.
  erased_batch_loader batch_loader;
  batcher_actor batcher; // set by the supervisor before it spawns any key actor
  /// Write-behind (store/write_behind.hpp): set before the supervisor starts; null for a
  /// read-through cache. Its writer actor is spawned by the supervisor.
  std::shared_ptr<write_behind_link> write_behind;
  writer_actor writer;
  /// The runtime's log sink; set before the supervisor starts. Null (cores made by tests) =
  /// events go nowhere.
  std::shared_ptr<log_sink> log;
  executor& loads;
  /// This cache's share of `loads`: every job the cache submits passes through it (submit).
  /// max_concurrent_loads 0 here means unbounded; the runtime resolves 0 to loader_threads.
  mutable bulkhead load_slots;
  caf::actor_clock& clock; // the actor system's clock: the test clock in message-level tests
  entry_table table;
  /// The resident key actors: how requesters find a key's actor (see send_to_key).
  key_registry keys;
  /// Which entry leaves when the cache is over max_entries or max_weight (see after_publish).
  eviction_policy policy{cfg.max_entries, cfg.max_weight};
  /// Loads that may still pass load_timeout (one timer per cache, not one per load).
  load_watch watched_loads;
  metric_sources metrics; // live counters, histograms and gauges
  thread_counters& counters = metrics.counters;
  metrics_store windows;       // folded once per cycle by the metrics actor
  supervisor_actor supervisor; // set once when the supervisor is spawned
  std::atomic<bool> closing{false};

  time_point now() const { return clock.now(); }
  void count(counter c, std::uint64_t n = 1) noexcept { counters.add(c, n); }
  metrics_snapshot metrics_now() const {
    auto s = windows.snapshot(cfg.name, metrics, table.size());
    s.gauges.dirty_backlog = table.dirty_count(); // kept by the table, not by a gauge
    s.gauges.resident_actors = keys.resident();   // kept by the registry
    s.gauges.weight = table.weight();             // kept by the table's link/unlink paths
    // Kept by the bulkhead, whose state may outlive the core (a job stuck past shutdown), so it
    // is read here rather than written into `metrics`.
    s.gauges.loads_queued = load_slots.queued();
    return s;
  }
  void count(counter c, detail::thread_slot_info slot) noexcept { counters.add(c, 1, slot); }

  /// Reports an event as component "cache <name>"; `make_message` runs only when the level is
  /// enabled. Call it outside the engine's locks and epoch guards: the user's handler runs here.
  template <class F> void log_event(log_level level, F&& make_message) const {
    if (log && log->enabled(level))
      log->write(level, "cache " + cfg.name, make_message());
  }

  enum class lookup { fresh, negative, stale, miss };

  /// The time as the hit path sees it. On the real clock this is the kernel's coarse monotonic
  /// clock (same base as steady_clock, ~6 ns instead of ~29 ns here, up to one tick (4 ms)
  /// behind), so an entry may be served up to one tick past its expiry. Under the test
  /// scheduler it is the test clock.
  time_point hit_now() const noexcept;

  /// The hit path: no message, no lock, no allocation. Requires an epoch_guard while `out`
  /// is used. A stale entry (inside stale_while_revalidate) asks for one background refresh.
  /// Runs one load for `key`: tier 1 first if there is one, then the loader; records counters
  /// and timings. Called on a loader thread; never throws.
  std::shared_ptr<load_outcome> run_load(const std::string& key) noexcept;

  /// Runs one batch load: tier 1 first for each key if there is one, then one batch-loader call
  /// for the keys tier 1 did not have. One outcome per key, in order. Never throws.
  std::vector<std::shared_ptr<load_outcome>>
  run_batch_load(const std::vector<std::string>& keys) noexcept;

  /// Whether misses can be loaded at all (a loader or a batch loader).
  bool can_load() const noexcept { return loader || batch_loader; }

  /// Queues a job on the loader pool through the cache's bulkhead, unless the runtime has
  /// stopped (the pool may be gone). A refused job is destroyed here; `overloaded` is counted
  /// (bulkhead_rejections) and callers answer their waiters with overloaded_error().
  bulkhead::admission submit(executor::job j) const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    if (sends_closed_)
      return bulkhead::admission::stopped;
    auto admitted = load_slots.submit(std::move(j));
    if (admitted == bulkhead::admission::overloaded)
      counters.add(counter::bulkhead_rejections);
    return admitted;
  }

  /// What a load refused by the bulkhead answers: names the cache, the key and the bounds.
  error overloaded_error(std::string_view key) const;

  /// Serialises tier-1 erase (invalidate) and tier-1 write-back for keys of one stripe, so
  /// that a write-back can check that its value is still the current one before storing it.
  std::mutex& tier_lock(std::string_view key) const noexcept {
    return tier_locks_[entry_table::hash_key(key) % tier_locks_.size()];
  }

  /// Stores `value_job` (a prepared tier-1 set) only if the key's entry is still the one
  /// published at `version`: an invalidate or a newer put/load in between wins.
  void write_back_if_current(const std::string& key, std::uint64_t version,
                             const std::function<void()>& value_job);

  /// The version of the key's entry now (0 when absent).
  std::uint64_t current_version(std::string_view key) const;

  /// Erases tier 1 and then the in-memory entry, under the key's tier lock. Rethrows what the
  /// tier throws (after dropping the entry). Returns whether an in-memory entry was dropped.
  bool invalidate_both(std::string_view key);

  lookup fast_lookup(std::string_view key, time_point now, const entry*& out) const noexcept {
    const entry* e = table.find(key, entry_table::hash_key(key));
    if (e == nullptr)
      return lookup::miss;
    entry_table::touch(*e, entry_table::tick_of(now));
    out = e;
    if (e->fresh_at(now)) {
      if (now >= e->refresh_at || xfetch_early(*e, now))
        request_refresh_once(*e, key); // serve now, reload in the background
      return e->kind == entry_kind::value ? lookup::fresh : lookup::negative;
    }
    auto swr = cfg.stale_while_revalidate;
    if (e->kind == entry_kind::value && swr.count() > 0 && now - e->expires_at < swr) {
      request_refresh_once(*e, key);
      return lookup::stale;
    }
    return lookup::miss;
  }

  /// Expiry of a value (or "not found") loaded now and kept for `ttl`, shortened by a random
  /// fraction below ttl_jitter; the key actors and the direct refresh path both use it.
  time_point load_expiry(time_point now, duration ttl) const noexcept;

  /// Publishes a loaded value (taking `value` unless a newer put or invalidate refuses it) with
  /// its expiry, refresh time and load duration. Key actors and direct refreshes both use it.
  bool publish_loaded(std::string_view key, std::unique_ptr<entry>& value, duration took,
                      std::uint64_t version, time_point now);
  /// Caches a loader's "not found" for negative_ttl (nothing when that is off).
  void publish_not_found(std::string_view key, std::uint64_t version, time_point now);

  /// Sets what `e` counts toward max_weight: the key's bytes plus, for a value, its weigher's
  /// (runtime/weigher.hpp), and prepares it for the eviction policy. Before publishing.
  void prepare_for_bounds(std::string_view key, entry& e) const noexcept {
    e.weight = key.size() + (e.kind == entry_kind::value ? ops.weigh(e) : 0);
    policy.stamp(e);
  }

  /// Called by the thread that published a value, once the table released its locks: records
  /// an insert (`inserted`: the key was absent) with the eviction policy, and evicts until the
  /// cache is within max_entries and max_weight again (normally one entry: amortised over
  /// inserts, never on the hit path). A replacement can only break max_weight (a heavier
  /// value), so it is checked only when that bound is set. Busy and dirty keys are skipped;
  /// what cannot go now is left to the supervisor's tick.
  void after_publish(std::string_view key, bool inserted, time_point now);

  /// Evicts by the policy until within bounds, at most `max_evictions`; counts each by cause.
  /// Returns how many went. Used by after_publish and by the supervisor's housekeeping.
  std::size_t enforce_bounds(time_point now, std::size_t max_evictions);

  /// Whether the key's actor is loading it: such a key is never evicted.
  bool key_busy(const std::string& key, std::size_t hash) const { return keys.busy(key, hash); }

  /// Expiry of a value stored now by put().
  time_point put_expiry(time_point now) const noexcept {
    return cfg.ttl.count() > 0 ? saturating_add(now, cfg.ttl) : time_point::max();
  }

  /// When a value stored now (loaded or put) becomes due for a refresh on access.
  time_point refresh_due(time_point now) const noexcept {
    return cfg.refresh_after.count() > 0 ? saturating_add(now, cfg.refresh_after)
                                         : time_point::max();
  }

  /// XFetch's decision for this read (only draws a random number close to expiry).
  bool xfetch_early(const entry& e, time_point now) const noexcept {
    auto beta = cfg.xfetch_beta;
    if (beta <= 0 || !xfetch_window(now, e.expires_at, e.load_time, beta))
      return false;
    return xfetch_due(now, e.expires_at, e.load_time, beta, draw_uniform());
  }

  /// Uniform in (0, 1] (XFetch's draw, ttl jitter): `xfetch_random` when a test sets it, a
  /// per-thread generator otherwise.
  double draw_uniform() const noexcept;
  std::function<double()> xfetch_random; // tests only: a fixed random source
  /// Tests only: called by put_entry just before it publishes, on the putting thread (a seam
  /// that stalls a put there, as a preempted thread would be). Set or cleared only while no
  /// put runs: it is read without synchronisation.
  std::function<void(std::string_view key)> before_put_publish;

  /// Asks the key's actor for one background reload per entry: only the first reader that finds
  /// the entry due writes its flag (tested first, so later readers write nothing).
  void request_refresh_once(const entry& e, std::string_view key) const {
    if (e.refresh_requested.load(std::memory_order_relaxed))
      return;
    auto retry_at = e.refresh_retry_at.load(std::memory_order_relaxed);
    if (retry_at != 0 && hit_now().time_since_epoch().count() < retry_at)
      return; // the last refresh of this entry failed: back off
    if (!e.refresh_requested.exchange(true))
      request_refresh(e, key);
  }

  /// The time on a loader thread: the runtime's clock while it runs, the system clock once it
  /// stopped (a loader stuck past shutdown must not touch it).
  time_point load_clock_now() const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    return sends_closed_ ? clock_type::now() : clock.now();
  }

  /// Sends one routed message (a get or a refresh) to the key's actor, spawning it when the key
  /// has none, from any thread and without the supervisor. Nothing is sent once the runtime is
  /// stopping: the message is destroyed here, and any reply token in it answers "shutting down".
  template <class... Ts> void send_to_key(const std::string& key, Ts&&... xs) {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    if (sends_closed_)
      return;
    if (auto actor = actor_for(key))
      caf::anon_send(actor, std::forward<Ts>(xs)...);
  }

  /// The key's actor, spawned when it has none (passivating idle ones beyond
  /// max_resident_actors); null once the registry is closed. Callers must know the actor system
  /// is alive: send_to_key checks the send gate, the supervisor is an actor of that system.
  key_actor actor_for(const std::string& key) {
    std::vector<key_actor> retired;
    auto actor = keys.route(key, entry_table::hash_key(key), cfg.max_resident_actors, retired);
    if (!retired.empty())
      passivate(retired);
    return actor;
  }

  /// Tells retired key actors to go (key_registry handed them out): counts each passivation.
  void passivate(const std::vector<key_actor>& retired);

  /// Closes the key registry and tells every resident key actor to stop; each answers its
  /// waiters "shutting down". Sent as anonymous messages, which CAF spreads over its workers
  /// (sent from an actor they would all queue on its worker, where stealing one is O(queue)).
  void stop_key_actors();

  /// Sends to an actor known by its weak address (a key actor, from a loader thread). A job
  /// stuck past shutdown holds only the address, never the actor or its system.
  template <class... Ts> void post_to(const caf::actor_addr& dest, Ts&&... xs) const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    if (sends_closed_)
      return;
    if (auto strong = caf::actor_cast<caf::actor>(dest))
      caf::anon_send(strong, std::forward<Ts>(xs)...);
  }

  /// The batcher's handle (null without a batch loader, or once the runtime stopped).
  batcher_actor batcher_handle() const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    return batcher;
  }

  /// The writer's address (null unless write-behind, or once the runtime stopped).
  caf::actor_addr writer_address() const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    return writer.address();
  }

  /// Stores a put value (from a handle or a put message). On a write-behind cache the entry is
  /// dirty and never expires until written; beyond max_dirty unwritten entries the put waits
  /// up to max_dirty_wait for room, then fails with errc::backlog_full.
  /// `may_wait` false (an actor's put) never waits.
  error put_entry(std::string_view key, std::unique_ptr<entry> e, bool may_wait = true);

  /// The supervisor's handle (null once the runtime stopped), read under the same lock that
  /// releases it.
  supervisor_actor supervisor_handle() const {
    std::shared_lock<std::shared_mutex> gate{send_gate_};
    return supervisor;
  }

  /// Called by the runtime once its actors are gone and before its actor system is destroyed:
  /// no thread may send any more, and the supervisor handle is released while the system lives.
  void close_sends() {
    std::unique_lock<std::shared_mutex> gate{send_gate_};
    sends_closed_ = true;
    load_slots.close(); // drops queued jobs: they hold the core, which must not own itself
    supervisor = nullptr;
    batcher = nullptr;
    writer = nullptr;
  }

private:
  /// Starts the background reload of `e`: straight on the loader pool (the common case: no
  /// actor involved, nobody waits), or through the key's actor for a batch-loading cache.
  void request_refresh(const entry& e, std::string_view key) const;
  /// A background reload's result: published unless a newer put or invalidate came; a failure
  /// keeps the entry, counts, and lets the next reader retry after a doubling backoff.
  void finish_refresh(const std::string& key, std::uint64_t version, std::uint64_t origin,
                      load_outcome& out);
  /// Lets the first reader of the entry at `origin` after `wait` ask for a refresh again (the
  /// last one failed, or a newer write refused its result). Nothing if the entry was replaced.
  void retry_refresh_later(const std::string& key, std::uint64_t origin, time_point now,
                           duration wait);
  error wait_for_room(std::string_view key, bool may_wait);
  /// Publishes a put's entry as the key's newest (see entry_table::publish_newest) and counts it.
  error publish_put(std::string_view key, std::unique_ptr<entry>& e, time_point now);
  /// Tier 1's value of `key` as a load outcome, or nullptr (no tier 1, a miss, or an error);
  /// counted and timed. Shared by single and batch loads.
  std::shared_ptr<load_outcome> ask_tier1(const std::string& key);

  mutable std::shared_mutex send_gate_;
  mutable std::array<std::mutex, 64> tier_locks_;
  bool sends_closed_ = false;
  const bool coarse_clock_; // set in the constructor: false under the test scheduler
};

using cache_core_ptr = std::shared_ptr<cache_core>;

} // namespace corral
