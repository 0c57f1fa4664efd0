// Runtime and per-cache configuration, built in code or read from JSON (see config_json.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <corral/runtime/config/store_spec.hpp>
#include <corral/runtime/log.hpp>
#include <corral/runtime/resources/resource_config.hpp>

namespace corral {

using duration = std::chrono::nanoseconds;

/// The longest duration a config may hold (10 years): time arithmetic stays far from overflow.
inline constexpr duration max_config_duration = std::chrono::hours(24 * 3653);

/// Bounds on the thread counts. Loader threads mostly wait on I/O, so hundreds are reasonable;
/// beyond a few thousand their stacks (8 MiB of address space each by default) and the
/// per-user thread limit make thread creation fail, and no workload needs that many loads at
/// once. Scheduler threads run actors and should not exceed the cores; 1024 is above any
/// machine's core count while still catching a stray extra digit.
inline constexpr std::size_t loader_thread_limit = 4096;
/// The pool's hard cap when runtime_config::max_loader_threads is 0 (and loader_threads is
/// lower): room for 32 caches with the default bulkhead of 8 all saturated at once.
inline constexpr std::size_t default_max_loader_threads = 256;
inline constexpr std::size_t max_scheduler_threads = 1024;

/// Options of one named cache. Zero durations switch a feature off unless noted.
struct cache_config {
  std::string name;
  /// Name of a loader registered with runtime::register_loader; may be empty when the
  /// loader is given in code.
  std::string loader;
  /// Name of a tier-1 cache registered with runtime::register_tier (two-tier load: asked before
  /// the loader, written back after a source load, erased on invalidate). Empty = none.
  std::string tier1;
  /// Time a loaded value stays fresh. 0 = never expires (the lazy-loader case).
  duration ttl{0};
  /// Time a loader's "not found" stays cached. 0 = "not found" is not cached.
  duration negative_ttl{0};
  /// After expiry, readers get the old value at once while one reload runs.
  duration stale_while_revalidate{0};
  /// After expiry, a failed reload answers waiters with the old value for this long.
  duration stale_if_error{0};
  /// Refresh on access (Caffeine's refreshAfterWrite): the first read of an entry older than
  /// this gets the current value at once and starts one background reload; entries nobody
  /// reads still expire at ttl. 0 = off.
  duration refresh_after{0};
  /// XFetch early refresh (runtime/engine/xfetch.hpp): readers near expiry reload early with a
  /// probability that grows as expiry nears, scaled by the last load's duration times this.
  /// 0 = off; 1 is the paper's default.
  double xfetch_beta{0.0};
  /// TTLs are shortened by a random fraction in [0, ttl_jitter) so that keys loaded together
  /// do not expire together. Range [0, 1).
  double ttl_jitter{0.0};
  /// Waiters of a load get a timeout error after this long; a late success is still stored.
  /// Defaults to 10 s so that a hung loader never hangs its callers; 0 = wait forever.
  duration load_timeout{std::chrono::seconds(10)};
  /// The cache's bulkhead (runtime/engine/bulkhead.hpp): at most this many of its loader jobs
  /// (loads, refreshes, batch calls, tier-1 work) hold a loader thread at once; the others wait in
  /// the cache's own queue. A load past load_timeout keeps its slot until the loader returns, so a
  /// cache with hung loaders holds at most this many threads and never delays another cache.
  /// 0 = the runtime's loader_threads (one cache alone behaves as with a fixed pool).
  std::size_t max_concurrent_loads{0};
  /// Jobs waiting for a bulkhead slot; a load beyond this is refused at once with
  /// errc::overloaded (counted as bulkhead_rejections). 0 = unbounded.
  std::size_t max_queued_loads{10000};
  /// After a failed load, requests fail fast (or get the stale value) for this long,
  /// doubling per consecutive failure up to error_backoff_max.
  duration error_backoff{0};
  duration error_backoff_max{std::chrono::seconds(30)};
  /// Batch loading (caches with a batch loader only, see runtime/batch_loader.hpp): loads that
  /// arrive within this window of the first are grouped into one batch-loader call...
  duration batch_window{std::chrono::milliseconds(5)};
  /// ...of at most this many keys; a full batch is called at once.
  std::size_t batch_size{100};
  /// Write-behind (store/write_behind.hpp): the store, as a JSON object chosen by "type"
  /// (store/store_config.hpp). Null = none; a store given in code takes precedence.
  store_spec store;
  /// The writer drains dirty entries this often...
  duration write_interval{std::chrono::seconds(1)};
  /// ...or at once when this many are dirty; also the most items per transaction.
  std::size_t write_batch_size{500};
  /// Bound on unwritten entries (memory stays bounded while the store is down). A put beyond
  /// it waits up to max_dirty_wait for the writer to make room, then fails (errc::backlog_full).
  std::size_t max_dirty{100000};
  duration max_dirty_wait{std::chrono::seconds(1)};
  /// After a failed batch (store down, deadlock) the writer waits this long, doubling per
  /// consecutive failure up to write_retry_max.
  duration write_retry{std::chrono::milliseconds(100)};
  duration write_retry_max{std::chrono::seconds(30)};
  /// Shutdown writes the dirty backlog for at most this long, then reports what is left.
  duration flush_timeout{std::chrono::seconds(10)};
  /// Limit on cached entries, kept by the thread that inserts a new key (it evicts one by the
  /// W-TinyLFU-style policy, runtime/engine/eviction_policy.hpp) and by the housekeeping tick as a
  /// backstop. It may be exceeded by about one entry per concurrently inserting thread, and by
  /// entries that cannot go yet (dirty, or loading). 0 = unbounded.
  std::size_t max_entries{0};
  /// Limit on the sum of the entries' weights: key bytes plus the value's weigher (value bytes
  /// for std::string, see runtime/weigher.hpp), kept like max_entries. 0 = unbounded.
  std::size_t max_weight{0};
  /// Period of the supervisor's housekeeping (prune, passivation).
  duration prune_interval{std::chrono::seconds(1)};
  /// Count requests on the hit path (per-thread counters). Off only to measure what counting
  /// costs: loads, errors and timings are still recorded.
  bool metrics{true};
  /// A key actor with nothing to do for this long is passivated; its entry stays.
  duration idle_timeout{std::chrono::seconds(10)};
  /// Soft cap on resident key actors: idle ones are passivated early to stay under it.
  /// 0 = unbounded.
  std::size_t max_resident_actors{0};
};

/// Options of the whole runtime.
/// The optional HTTP endpoint for scrapers: GET /metrics (Prometheus text) and GET
/// /metrics.json (to_json of every cache).
struct metrics_http_config {
  /// "host:port", "[ipv6]:port" or "port" (host 127.0.0.1); port 0 = a free one, see
  /// runtime::metrics_http_port(). Empty = no endpoint.
  std::string listen;
};

struct runtime_config {
  /// CAF scheduler worker threads. 0 = one per core. At most max_scheduler_threads.
  std::size_t scheduler_threads{0};
  /// CAF's scheduling policy: "sharing" (the default: one queue, idle workers sleep until a
  /// message wakes one) or "stealing" (CAF's own default: a queue per worker, idle workers poll
  /// and steal). corral's actors are woken mostly from other threads (requesters, loaders),
  /// where stealing's polling sleeps delay each wake-up and a steal from a long queue costs
  /// O(queue) in CAF 0.17: see docs/performance.md for the measurements.
  std::string scheduler_policy{"sharing"};
  /// Loader threads kept warm: they start with the runtime and never exit. Loaders are user
  /// code that may block; when every thread is busy, the pool starts another one for the next
  /// job, up to max_loader_threads, and such extra threads exit after 10 s without work. Each
  /// cache is bounded by its bulkhead (cache_config::max_concurrent_loads, loader_threads by
  /// default), so a cache whose loaders hang cannot take the threads of the others. Also used
  /// by resources. 1 to loader_thread_limit.
  std::size_t loader_threads{8};
  /// The loader pool's hard cap. 0 (automatic) = the larger of loader_threads and
  /// default_max_loader_threads, raised as caches start to loader_threads plus the sum of their
  /// bulkheads (at most loader_thread_limit), so that every cache finds its threads even while
  /// all the others are saturated with hung loads. Set by hand: loader_threads to
  /// loader_thread_limit, and keep it at or above that sum for the same guarantee.
  std::size_t max_loader_threads{0};
  /// Length of one metrics window: "last" is the window being filled.
  duration metrics_cycle{std::chrono::seconds(10)};
  /// Completed windows summed into "cycle" (at least 1).
  std::size_t metrics_windows{6};
  metrics_http_config metrics_http;
  /// Events below this level are dropped before they are formatted (runtime::on_log).
  corral::log_level log_level = corral::log_level::warning;
  std::vector<cache_config> caches;
  /// Resources (refresh-ahead values) whose loaders are registered by name; see resource.hpp.
  std::vector<resource_config> resources;

  /// Returns the cache named `name` or nullptr.
  const cache_config* find_cache(const std::string& name) const;
  /// The pool's cap: max_loader_threads, or its default when that is 0.
  std::size_t loader_thread_cap() const noexcept;
};

/// One thing wrong with a configuration: where (`caches[1].loader`) and what.
struct config_problem {
  std::string path;
  std::string message;
};

/// A configuration that cannot be used. `path()` names the offending element in JSON-path
/// style (`caches[1].ttl`); what() says what was expected and what was found.
class config_error : public std::runtime_error {
public:
  config_error(std::string path, const std::string& message)
      : config_error(std::vector<config_problem>{{std::move(path), message}}) {}
  /// Several problems found at once (runtime::check): path() is the first one's and what()
  /// has one "path: message" line per problem. `problems` must not be empty.
  explicit config_error(std::vector<config_problem> problems);
  const std::string& path() const noexcept { return problems_.front().path; }
  /// Every problem, in config order; one for a config_error made from a path and a message.
  const std::vector<config_problem>& problems() const noexcept { return problems_; }

private:
  std::vector<config_problem> problems_;
};

/// Checks cross-field rules (unique names, ranges) of a config built in code.
/// Throws config_error naming the path.
void validate(const runtime_config& cfg);

} // namespace corral
