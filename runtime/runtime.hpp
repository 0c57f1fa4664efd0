// corral::runtime: owns the CAF actor system, the loader pool and the named caches.
//
//   #include <corral/runtime/config/config_json.hpp> // load_config_file
//   corral::runtime rt{corral::load_config_file("config/default.json")};
//   rt.register_loader<double>("demo_price", [](const std::string& sym) { return fetch(sym); });
//   auto prices = rt.cache<double>("prices");
//   double p = prices.get("AAPL").value();
#pragma once

#include <corral/runtime/version.hpp> // first: stops a pre-C++17 build with a clear message

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeinfo>
#include <unordered_map>

#include <corral/runtime/batch_loader.hpp>
#include <corral/runtime/cache.hpp>
#include <corral/runtime/cache_tier.hpp>
#include <corral/runtime/config/config.hpp>
#include <corral/runtime/engine/value_ops.hpp>
#include <corral/runtime/loader.hpp>
#include <corral/runtime/log.hpp>
#include <corral/runtime/metrics/metrics.hpp>
#include <corral/runtime/resources/resource.hpp>
#include <corral/runtime/resources/resource_loader.hpp>
#include <corral/store/write_behind.hpp>

// Only the CAF-facing parts name these (runtime/caf_interop.hpp): a consumer that does not
// speak messages compiles no CAF header.
namespace caf {
class actor_system;
} // namespace caf

namespace corral {

class resource_set; // runtime/resources/resource_set.hpp

class runtime {
public:
  /// Starts the actor system and the loader pool. Caches are created on first use.
  explicit runtime(runtime_config cfg = {});
  /// Calls shutdown().
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Registers a loader under `name`, for caches whose config names it (JSON "loader").
  template <class V, class F> void register_loader(const std::string& name, F loader) {
    add_loader(name, typeid(V), wrap_loader<V>(std::move(loader)));
  }

  /// Registers a batch loader (runtime/batch_loader.hpp) under `name`: a cache whose config
  /// names it (JSON "loader") groups its loads into batch calls (batch_window, batch_size).
  template <class V, class F> void register_batch_loader(const std::string& name, F loader) {
    add_batch_loader(name, typeid(V), wrap_batch_loader<V>(std::move(loader)));
  }

  /// Registers a tier-1 cache under `name`, for caches whose config names it (JSON "tier1").
  template <class V>
  void register_tier(const std::string& name, std::shared_ptr<cache_tier<V>> tier) {
    add_tier(name, typeid(V), erase_tier<V>(std::move(tier)));
  }

  /// Checks that everything the config names by name is registered: each configured cache's
  /// loader and tier1 (and that the two hold one value type), each configured resource's
  /// loader. Loaders are registered after the runtime is built, so call it once they are, at
  /// start-up: it throws one config_error listing every problem with its path
  /// (config_error::problems()). sync() runs it too; cache<V>() runs it for its own cache.
  /// Caches already created are not checked again. (Everything that needs no registration,
  /// stores included, is checked when the runtime is built.)
  void check();

  /// The cache declared in the config under `name`, with the loader its config names.
  /// Throws config_error for an unknown cache or loader, corral::failure on a type mismatch.
  template <class V> corral::cache<V> cache(const std::string& name) {
    return corral::cache<V>{core_for(name, value_ops_for<V>())};
  }

  /// Declares a cache in code with its loader (or replaces nothing: the name must be new).
  template <class V, class F> corral::cache<V> make_cache(cache_config cfg, F loader) {
    return corral::cache<V>{
        add_cache(std::move(cfg), value_ops_for<V>(), wrap_loader<V>(std::move(loader)))};
  }

  /// Declares a two-tier cache in code: `tier1` is asked before `loader` (see cache_tier.hpp).
  template <class V, class F>
  corral::cache<V> make_cache(cache_config cfg, F loader, std::shared_ptr<cache_tier<V>> tier1) {
    return corral::cache<V>{add_cache(std::move(cfg), value_ops_for<V>(),
                                      wrap_loader<V>(std::move(loader)),
                                      erase_tier<V>(std::move(tier1)))};
  }

  /// Declares a cache in code whose loads go to a batch loader (runtime/batch_loader.hpp).
  template <class V, class F> corral::cache<V> make_batch_cache(cache_config cfg, F loader) {
    return corral::cache<V>{add_cache(std::move(cfg), value_ops_for<V>(), {}, nullptr,
                                      wrap_batch_loader<V>(std::move(loader)))};
  }

  /// Declares a write-behind cache in code (store/write_behind.hpp): put() marks entries
  /// dirty and the cache's writer drains them to `store`; a miss looks the key up in `store`.
  template <class V>
  corral::cache<V> make_write_behind_cache(cache_config cfg, std::shared_ptr<write_store> store,
                                           write_hooks<V> hooks = {}) {
    return corral::cache<V>{add_cache(std::move(cfg), value_ops_for<V>(), {}, nullptr, {},
                                      make_write_behind<V>(std::move(store), std::move(hooks)))};
  }

  /// Declares a cache in code without a loader: values come only from put().
  template <class V> corral::cache<V> make_cache(cache_config cfg) {
    return corral::cache<V>{add_cache(std::move(cfg), value_ops_for<V>(), {})};
  }

  // -- resources: named values loaded by sync(), then refreshed in the background ----------
  // (resources-go's model; see runtime/resources/resource_set.hpp and the README's "Resources").

  /// Registers a resource loader under `name`, for resources whose config names it.
  template <class V, class F> void register_resource_loader(const std::string& name, F loader) {
    add_resource_loader(name, typeid(V), wrap_resource_loader<V>(std::move(loader)));
  }

  /// Declares a resource in code; it loads at the first sync() (at once if one happened).
  template <class V, class F> corral::resource<V> add_resource(resource_config cfg, F loader) {
    return corral::resource<V>{
        add_erased_resource(std::move(cfg), typeid(V), wrap_resource_loader<V>(std::move(loader)))};
  }

  /// The handle of a resource declared in code or in the config ("resources").
  template <class V> corral::resource<V> resource(const std::string& name) {
    return corral::resource<V>{resource_slot_for(name, typeid(V))};
  }

  /// Loads every resource now, in parallel on the loader pool, and starts their refresh
  /// schedules. With `wait`, returns once each has a value or has failed: nullopt, or one
  /// error naming every resource that failed (the others are served). Runs check() first:
  /// sync() is the start-up point, so a cache whose loader was never registered fails here
  /// rather than at its first use.
  std::optional<error> sync(bool wait = true);

  /// As sync(true), but waits at most `timeout`; resources still loading are named too.
  std::optional<error> sync_for(duration timeout);

  /// Stops a resource's refresh and drops its value. False when there is no such resource.
  bool remove_resource(const std::string& name);

  /// Called for every failed resource load, on the resource actor's thread (keep it quick).
  void on_resource_error(resource_error_handler handler);

  /// The runtime's resources (runtime/resources/resource_set.hpp).
  resource_set& resources();

  /// Replaces the sink of every log event of the runtime (runtime/log.hpp): failed and timed-out
  /// loads, refused loads, write failures and dead letters, resource failures, shutdown
  /// reports. Events below runtime_config::log_level never reach it; repeats of one message
  /// within 10 s are counted and summarised. An empty handler restores the default, which
  /// writes "corral [warning] cache prices: ..." lines to stderr.
  void on_log(log_handler handler);

  /// Calls `callback` once per metrics cycle for every cache, on the metrics actor's thread
  /// (keep it quick). Replaces the previous callback; an empty function removes it.
  void on_metrics(metrics_callback callback);

  /// A snapshot of every cache's metrics, now (no message involved).
  std::vector<metrics_snapshot> metrics();

  /// The port of the metrics_http endpoint (the bound one when configured with port 0); 0
  /// without an endpoint. The endpoint stops at shutdown().
  std::uint16_t metrics_http_port() const;

  /// The actor system the runtime runs (include <corral/runtime/caf_interop.hpp> to use it,
  /// and for each cache's message interface, actor_of()).
  caf::actor_system& system();
  const runtime_config& config() const;

  /// Answers every pending request ("shutting down"), stops every actor and loader thread.
  /// Loaders still running after `grace` are abandoned. Idempotent.
  /// Write-behind caches are flushed first, each for at most its flush_timeout; what could not
  /// be written is logged through its hooks and kept in shutdown_flushes().
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  /// What shutdown's flush of each write-behind cache achieved (empty before shutdown).
  std::vector<std::pair<std::string, flush_result>> shutdown_flushes() const;

private:
  friend struct runtime_access; // runtime/caf_interop.hpp

  void add_resource_loader(const std::string& name, const std::type_info& type,
                           erased_resource_loader loader);
  resource_slot_ptr add_erased_resource(resource_config cfg, const std::type_info& type,
                                        erased_resource_loader loader);
  resource_slot_ptr resource_slot_for(const std::string& name, const std::type_info& type);
  void add_loader(const std::string& name, const std::type_info& type, erased_loader loader);
  void add_batch_loader(const std::string& name, const std::type_info& type,
                        erased_batch_loader loader);
  void add_tier(const std::string& name, const std::type_info& type,
                std::shared_ptr<erased_tier> tier);
  cache_core_ptr core_for(const std::string& name, const value_ops& ops);
  cache_core_ptr add_cache(cache_config cfg, const value_ops& ops, erased_loader loader,
                           std::shared_ptr<erased_tier> tier1 = nullptr,
                           erased_batch_loader batch = {},
                           std::shared_ptr<write_behind_link> write_behind = nullptr);
  cache_core_ptr start_cache(const cache_config& cfg, const value_ops& ops, erased_loader loader,
                             std::shared_ptr<erased_tier> tier1, erased_batch_loader batch,
                             std::shared_ptr<write_behind_link> write_behind);

  void flush_write_behind_caches(const std::unordered_map<std::string, cache_core_ptr>& caches);

  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace corral
