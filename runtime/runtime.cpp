#include <corral/runtime/runtime.hpp>

#include <corral/runtime/caf_interop.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <corral/actors/cache_supervisor.hpp>
#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/caf_thread.hpp>
#include <corral/runtime/engine/log_sink.hpp>
#include <corral/runtime/engine/type_name.hpp>
#include <corral/runtime/metrics/metrics_actor.hpp>
#include <corral/runtime/metrics/metrics_http.hpp>
#include <corral/runtime/resources/resource_set.hpp>
#include <corral/store/store_config.hpp>
#include <corral/store/store_lookup.hpp>
#include <corral/store/write_behind_log.hpp>
#include <corral/store/writer_actor.hpp>

namespace corral {

namespace {

/// Set while this thread runs the user's metrics callback.
thread_local bool in_metrics_callback = false;

struct registered_loader {
  const std::type_info* type;
  erased_loader fn; // one of the two is set
  erased_batch_loader batch;
};

struct registered_tier {
  const std::type_info* type;
  std::shared_ptr<erased_tier> tier;
};

caf::actor_system_config make_caf_config(const runtime_config& cfg) {
  caf::actor_system_config caf_cfg;
  if (cfg.scheduler_threads > 0)
    caf_cfg.set("scheduler.max-threads", cfg.scheduler_threads);
  caf_cfg.set("scheduler.policy", caf::atom_from_string(cfg.scheduler_policy));
  // CAF prints its own log/console noise otherwise; corral reports through its own API.
  caf_cfg.set("logger.console", caf::atom("none"));
  register_message_types(caf_cfg);
  return caf_cfg;
}

std::string type_error(const std::string& cache, const std::type_info& want,
                       const std::type_info& have) {
  return "cache '" + cache + "' holds values of type " + type_name(have) + ", requested as type " +
         type_name(want);
}

/// What keeps caches[index] from being created: its loader or tier1 is not registered, or
/// holds another type than `want` (the cache's value type; nullptr when not known yet, and
/// then the loader and the tier must agree with each other).
std::vector<config_problem>
cache_problems(const cache_config& c, std::size_t index,
               const std::unordered_map<std::string, registered_loader>& loaders,
               const std::unordered_map<std::string, registered_tier>& tiers,
               const std::type_info* want) {
  std::vector<config_problem> out;
  auto path = "caches[" + std::to_string(index) + "].";
  const std::type_info* loader_type = nullptr;
  if (!c.loader.empty()) {
    auto l = loaders.find(c.loader);
    if (l == loaders.end())
      out.push_back({path + "loader", "no loader registered under the name '" + c.loader + "'"});
    else if (want && *l->second.type != *want)
      out.push_back({path + "loader", "loader '" + c.loader + "' produces " +
                                          type_name(*l->second.type) + ", cache requested as " +
                                          type_name(*want)});
    else
      loader_type = l->second.type;
  }
  if (!c.tier1.empty()) {
    auto t = tiers.find(c.tier1);
    if (t == tiers.end())
      out.push_back({path + "tier1", "no tier registered under the name '" + c.tier1 + "'"});
    else if (want && *t->second.type != *want)
      out.push_back({path + "tier1", "tier '" + c.tier1 + "' holds " + type_name(*t->second.type) +
                                         ", cache requested as " + type_name(*want)});
    else if (loader_type && *t->second.type != *loader_type)
      out.push_back({path + "tier1", "tier '" + c.tier1 + "' holds " + type_name(*t->second.type) +
                                         ", loader '" + c.loader + "' produces " +
                                         type_name(*loader_type)});
  }
  return out;
}

} // namespace

struct runtime::impl {
  explicit impl(runtime_config c)
      : cfg(std::move(c)), log(std::make_shared<log_sink>(cfg.log_level)),
        pool(cfg.loader_threads, cfg.loader_thread_cap()), caf_cfg(make_caf_config(cfg)),
        sys(caf_cfg), resources(sys, pool, cfg.resources) {
    metrics = spawn_metrics_actor(sys, cfg.metrics_cycle, [this](const metrics_snapshot& s) {
      // Held while the callback runs, so that on_metrics() from another thread returns only
      // once no call is in progress; recursive, so that the callback may replace itself (the
      // copy keeps the running function alive).
      std::lock_guard<std::recursive_mutex> guard{callback_mtx};
      auto cb = callback;
      if (cb && *cb) {
        struct flag { // reset even when the callback throws
          flag() { in_metrics_callback = true; }
          ~flag() { in_metrics_callback = false; }
        } inside;
        (*cb)(s);
      }
    });
    resources.log_to(log);
  }

  runtime_config cfg;
  /// Every component's log events go here (runtime::on_log); shared with the cache cores,
  /// writers and resources, which may outlive a call into the runtime.
  std::shared_ptr<log_sink> log;
  // The pools are declared before the actor system so that they outlive it: its destructor
  // waits for every actor, and an actor finishing its last messages may still submit a job.
  thread_pool pool;
  /// The caches' bulkheads summed: an automatic pool cap keeps room for all of them.
  std::atomic<std::size_t> bulkhead_total{0};
  /// One writer thread per write-behind cache: store calls block, and one batch runs at a time.
  std::vector<std::unique_ptr<thread_pool>> writer_threads;
  caf::actor_system_config caf_cfg;
  caf::actor_system sys;
  resource_set resources;
  std::mutex mtx;
  std::unordered_map<std::string, registered_loader> loaders;
  std::unordered_map<std::string, registered_tier> tiers;
  metrics_actor metrics;
  std::recursive_mutex callback_mtx;
  std::shared_ptr<const metrics_callback> callback;
  std::unordered_map<std::string, cache_core_ptr> caches;
  std::vector<std::pair<std::string, flush_result>> shutdown_flushes;
  bool stopped = false;
  std::unique_ptr<metrics_http_server> metrics_http; // when cfg.metrics_http.listen is set
};

runtime::runtime(runtime_config cfg) {
  validate(cfg);
  // Bound before the actor system exists, so that a taken port fails the constructor with
  // nothing to tear down; it serves once the runtime is complete.
  std::unique_ptr<metrics_http_server> http;
  if (!cfg.metrics_http.listen.empty())
    http = std::make_unique<metrics_http_server>(cfg.metrics_http.listen);
  impl_ = std::make_unique<impl>(std::move(cfg));
  // Constructing the actor system left its logger on this thread, which cannot have held it
  // before: the runtime may be destroyed on another thread (caf_thread.hpp).
  caf::logger::set_current_actor_system(nullptr);
  if (http) {
    impl_->metrics_http = std::move(http);
    impl_->metrics_http->start([this] { return metrics(); });
  }
}

std::uint16_t runtime::metrics_http_port() const {
  return impl_->metrics_http ? impl_->metrics_http->port() : 0;
}

runtime::~runtime() {
  shutdown();
}

caf::actor_system& runtime::system() {
  return impl_->sys;
}

const runtime_config& runtime::config() const {
  return impl_->cfg;
}

resource_set& runtime::resources() {
  return impl_->resources;
}

void runtime::add_resource_loader(const std::string& name, const std::type_info& type,
                                  erased_resource_loader loader) {
  impl_->resources.add_loader(name, type, std::move(loader));
}

resource_slot_ptr runtime::add_erased_resource(resource_config cfg, const std::type_info& type,
                                               erased_resource_loader loader) {
  return impl_->resources.add_erased(std::move(cfg), type, std::move(loader));
}

resource_slot_ptr runtime::resource_slot_for(const std::string& name, const std::type_info& type) {
  return impl_->resources.slot_for(name, type);
}

std::optional<error> runtime::sync(bool wait) {
  check();
  return impl_->resources.sync(wait);
}

std::optional<error> runtime::sync_for(duration timeout) {
  check();
  return impl_->resources.sync_for(timeout);
}

bool runtime::remove_resource(const std::string& name) {
  return impl_->resources.remove(name);
}

void runtime::on_resource_error(resource_error_handler handler) {
  impl_->resources.on_error(std::move(handler));
}

void runtime::add_loader(const std::string& name, const std::type_info& type,
                         erased_loader loader) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->loaders[name] = registered_loader{&type, std::move(loader), {}};
}

void runtime::add_batch_loader(const std::string& name, const std::type_info& type,
                               erased_batch_loader loader) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->loaders[name] = registered_loader{&type, {}, std::move(loader)};
}

namespace {

void refuse_if_stopped(bool stopped, const std::string& name) {
  // A cache made now would spawn a supervisor nobody stops: the actor system would never end.
  if (stopped)
    throw failure(
        {errc::shutting_down, "runtime is shut down; cannot create cache '" + name + "'"});
}

} // namespace

void runtime::check() {
  std::vector<config_problem> problems;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    const auto& caches = impl_->cfg.caches;
    for (std::size_t i = 0; i < caches.size(); ++i) {
      if (impl_->caches.count(caches[i].name) != 0)
        continue; // created: its names were checked then (or it was made in code)
      auto found = cache_problems(caches[i], i, impl_->loaders, impl_->tiers, nullptr);
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  auto resources = impl_->resources.problems();
  problems.insert(problems.end(), resources.begin(), resources.end());
  if (!problems.empty())
    throw config_error(std::move(problems));
}

cache_core_ptr runtime::core_for(const std::string& name, const value_ops& ops) {
  std::unique_lock<std::mutex> lock{impl_->mtx};
  if (auto i = impl_->caches.find(name); i != impl_->caches.end()) {
    if (*i->second->ops.type != *ops.type)
      throw failure({errc::type_mismatch, type_error(name, *ops.type, *i->second->ops.type)});
    return i->second;
  }
  refuse_if_stopped(impl_->stopped, name);
  const auto& caches = impl_->cfg.caches;
  auto pos = std::find_if(caches.begin(), caches.end(),
                          [&](const cache_config& c) { return c.name == name; });
  if (pos == caches.end())
    throw config_error("caches", "no cache named '" + name + "' in the configuration");
  auto index = static_cast<std::size_t>(pos - caches.begin());
  auto problems = cache_problems(*pos, index, impl_->loaders, impl_->tiers, ops.type);
  if (!problems.empty())
    throw config_error(std::move(problems));
  erased_loader loader;
  erased_batch_loader batch;
  if (!pos->loader.empty()) {
    const auto& l = impl_->loaders.at(pos->loader);
    loader = l.fn;
    batch = l.batch;
  }
  std::shared_ptr<erased_tier> tier1;
  if (!pos->tier1.empty())
    tier1 = impl_->tiers.at(pos->tier1).tier;
  std::shared_ptr<write_behind_link> write_behind;
  if (!pos->store.empty()) // an object: checked by validate() when the runtime was built
    write_behind = make_write_behind(
        make_store(pos->store.json(), "caches[" + std::to_string(index) + "].store"));
  return start_cache(*pos, ops, std::move(loader), std::move(tier1), std::move(batch),
                     std::move(write_behind));
}

cache_core_ptr runtime::add_cache(cache_config cfg, const value_ops& ops, erased_loader loader,
                                  std::shared_ptr<erased_tier> tier1, erased_batch_loader batch,
                                  std::shared_ptr<write_behind_link> write_behind) {
  std::unique_lock<std::mutex> lock{impl_->mtx};
  refuse_if_stopped(impl_->stopped, cfg.name);
  if (cfg.name.empty())
    throw config_error("name", "a cache needs a non-empty name");
  if (impl_->caches.count(cfg.name) != 0 || impl_->cfg.find_cache(cfg.name) != nullptr)
    throw config_error("name", "a cache named '" + cfg.name + "' already exists");
  impl_->cfg.caches.push_back(cfg);
  try {
    validate(impl_->cfg);
  } catch (...) {
    impl_->cfg.caches.pop_back();
    throw;
  }
  return start_cache(impl_->cfg.caches.back(), ops, std::move(loader), std::move(tier1),
                     std::move(batch), std::move(write_behind));
}

cache_core_ptr runtime::start_cache(const cache_config& cfg, const value_ops& ops,
                                    erased_loader loader, std::shared_ptr<erased_tier> tier1,
                                    erased_batch_loader batch,
                                    std::shared_ptr<write_behind_link> write_behind) {
  if (write_behind)
    log_write_behind_to_sink(*write_behind, impl_->log, "cache " + cfg.name);
  if (write_behind) {
    impl_->writer_threads.push_back(std::make_unique<thread_pool>(1));
    write_behind->writes = impl_->writer_threads.back().get();
    if (!loader && !batch) // lookup on miss
      loader = store_lookup(write_behind->store, ops);
  }
  // A bulkhead of 0 means loader_threads: one cache alone loads as it did on a fixed pool.
  cache_config resolved = cfg;
  if (resolved.max_concurrent_loads == 0)
    resolved.max_concurrent_loads = impl_->cfg.loader_threads;
  // An automatic pool cap (max_loader_threads 0) keeps room for every cache's whole bulkhead
  // next to loader_threads (resources, and the first caches' warm threads), so that a cache
  // finds its threads even while every other cache is saturated with hung loads.
  if (impl_->cfg.max_loader_threads == 0) {
    auto total = impl_->bulkhead_total.fetch_add(resolved.max_concurrent_loads) +
                 resolved.max_concurrent_loads;
    impl_->pool.raise_max_threads(std::min(loader_thread_limit, impl_->cfg.loader_threads + total));
  }
  auto core = std::make_shared<cache_core>(resolved, ops, std::move(loader), impl_->pool,
                                           impl_->sys.clock(), impl_->cfg.metrics_windows,
                                           impl_->cfg.metrics_cycle);
  // Both before the supervisor exists: never written afterwards.
  core->tier1 = std::move(tier1);
  core->batch_loader = std::move(batch);
  core->write_behind = std::move(write_behind);
  core->log = impl_->log;
  {
    detail::caf_thread_guard guard{impl_->sys};
    spawn_cache_supervisor(impl_->sys, core);
  }
  caf::anon_send(impl_->metrics, watch_cache_msg{core});
  impl_->caches.emplace(cfg.name, core);
  return core;
}

void runtime::add_tier(const std::string& name, const std::type_info& type,
                       std::shared_ptr<erased_tier> tier) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->tiers[name] = registered_tier{&type, std::move(tier)};
}

void runtime::on_log(log_handler handler) {
  impl_->log->set_handler(std::move(handler));
}

void runtime::on_metrics(metrics_callback callback) {
  std::lock_guard<std::recursive_mutex> guard{impl_->callback_mtx};
  impl_->callback = std::make_shared<const metrics_callback>(std::move(callback));
}

std::vector<metrics_snapshot> runtime::metrics() {
  std::vector<cache_core_ptr> cores;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    for (auto& kv : impl_->caches)
      cores.push_back(kv.second);
  }
  std::vector<metrics_snapshot> out;
  for (auto& core : cores)
    out.push_back(core->metrics_now());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.cache.compare(b.cache) < 0; });
  return out;
}

cache_actor runtime_access::actor_of(runtime& rt, const std::string& name) {
  std::lock_guard<std::mutex> guard{rt.impl_->mtx};
  auto i = rt.impl_->caches.find(name);
  if (i == rt.impl_->caches.end())
    throw failure({errc::no_such_cache, "no cache named '" + name + "' has been created"});
  return caf::actor_cast<cache_actor>(i->second->supervisor_handle());
}

void runtime::flush_write_behind_caches(
    const std::unordered_map<std::string, cache_core_ptr>& caches) {
  // New puts are refused from here on; everything dirty gets up to flush_timeout to reach its
  // store (the caches flush at the same time).
  std::vector<std::pair<std::string, std::future<flush_result>>> flushes;
  for (auto& kv : caches)
    kv.second->closing = true;
  for (auto& kv : caches) {
    if (!kv.second->write_behind)
      continue;
    // Puts that passed their `closing` check publish before the flush takes its snapshot;
    // puts waiting for room wake up and are refused.
    auto& link = *kv.second->write_behind;
    link.room_made();
    while (link.puts_in_flight.load() != 0)
      std::this_thread::yield();
    auto core = kv.second;
    flushes.emplace_back(kv.first, std::async(std::launch::async, [core] {
                           return flush_write_behind(*core, core->cfg.flush_timeout);
                         }));
  }
  for (auto& [name, f] : flushes) {
    auto r = f.get();
    const auto& link = *caches.at(name)->write_behind;
    if (!r.complete && link.hooks.log)
      link.hooks.log(write_log_level::warn, "shutdown: " + std::to_string(r.unwritten) +
                                                " entries of cache '" + name +
                                                "' could not be written: " + r.error);
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->shutdown_flushes.emplace_back(name, std::move(r));
  }
}

std::vector<std::pair<std::string, flush_result>> runtime::shutdown_flushes() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->shutdown_flushes;
}

void runtime::shutdown(std::chrono::milliseconds grace) {
  if (in_metrics_callback) // it would wait for the metrics actor, which is running this call
    throw std::logic_error("corral::runtime::shutdown() called from a metrics callback");
  if (inside_resource_error_handler()) // it would wait for the resource actor running this call
    throw std::logic_error("corral::runtime::shutdown() called from a resource error handler or a "
                           "log handler on the resource actor");
  std::unordered_map<std::string, cache_core_ptr> caches;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->stopped)
      return;
    impl_->stopped = true;
    caches = impl_->caches;
  }
  if (impl_->metrics_http)
    impl_->metrics_http->stop();
  impl_->resources.close();
  flush_write_behind_caches(caches);
  // Stop supervisors first: they fail every parked request and stop their key actors.
  {
    detail::caf_thread_guard guard{impl_->sys};
    caf::scoped_actor self{impl_->sys};
    for (auto& kv : caches) {
      kv.second->closing = true;
      // Loads still queued in the bulkhead are dropped now (their waiters are answered below)
      // and a running load's thread, when it returns, takes no queued one: shutdown starts no
      // loader call, and its grace waits only for the loads already running.
      kv.second->load_slots.close();
      self->monitor(kv.second->supervisor);
      self->send(kv.second->supervisor, shutdown_atom::value);
    }
    self->monitor(impl_->metrics);
    self->send(impl_->metrics, shutdown_atom::value);
    // Stops every refresh timer and answers every sync() still waiting.
    self->monitor(impl_->resources.actor());
    self->send(impl_->resources.actor(), shutdown_atom::value);
    for (std::size_t down = 0; down < caches.size() + 2;)
      self->receive([&](caf::down_msg&) { ++down; });
  }
  // Running loads get `grace` (queued ones were dropped with the bulkheads above).
  if (auto stuck = impl_->pool.stop(grace); stuck > 0)
    impl_->log->write(log_level::warning, "runtime",
                      "shutdown: " + std::to_string(stuck) +
                          " loader threads still running after the grace of " +
                          describe_window(grace) + " were abandoned");
  for (auto& t : impl_->writer_threads)
    t->stop(grace);
  for (auto& kv : caches)
    kv.second->close_sends();
  impl_->resources.close_sends();
  impl_->log->flush_all(); // what repeated since the last housekeeping tick
  // The handler may capture what the caller destroys once shutdown() returns: a loader abandoned
  // above that fails later must not call it.
  impl_->log->close();
}

} // namespace corral
