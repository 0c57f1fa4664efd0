#include <corral/runtime/config/config.hpp>

#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/config/listen_address.hpp>
#include <corral/store/store_config.hpp>

#include <string_view>

namespace corral {

namespace {

std::string describe_problems(const std::vector<config_problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty())
      out += '\n';
    out += p.path.empty() ? p.message : p.path + ": " + p.message;
  }
  return out;
}

} // namespace

config_error::config_error(std::vector<config_problem> problems)
    : std::runtime_error(describe_problems(problems)), problems_(std::move(problems)) {
  if (problems_.empty()) // keeps path() valid for a caller that broke the contract
    problems_.push_back({"", "invalid configuration"});
}

std::size_t runtime_config::loader_thread_cap() const noexcept {
  if (max_loader_threads != 0)
    return max_loader_threads;
  return loader_threads > default_max_loader_threads ? loader_threads : default_max_loader_threads;
}

const cache_config* runtime_config::find_cache(const std::string& name) const {
  for (const auto& cache : caches)
    if (cache.name == name)
      return &cache;
  return nullptr;
}

namespace {

// Keyed by the JSON names so that errors for configs built in code point at the same
// paths a config file would use.
struct duration_member {
  std::string_view key;
  duration cache_config::*member;
};

constexpr duration_member duration_members[] = {
    {"ttl", &cache_config::ttl},
    {"negative_ttl", &cache_config::negative_ttl},
    {"stale_while_revalidate", &cache_config::stale_while_revalidate},
    {"stale_if_error", &cache_config::stale_if_error},
    {"refresh_after", &cache_config::refresh_after},
    {"load_timeout", &cache_config::load_timeout},
    {"error_backoff", &cache_config::error_backoff},
    {"error_backoff_max", &cache_config::error_backoff_max},
    {"batch_window", &cache_config::batch_window},
    {"write_interval", &cache_config::write_interval},
    {"max_dirty_wait", &cache_config::max_dirty_wait},
    {"write_retry", &cache_config::write_retry},
    {"write_retry_max", &cache_config::write_retry_max},
    {"flush_timeout", &cache_config::flush_timeout},
    {"prune_interval", &cache_config::prune_interval},
    {"idle_timeout", &cache_config::idle_timeout},
};

std::string cache_path(std::size_t index, std::string_view key) {
  return "caches[" + std::to_string(index) + "]." + std::string(key);
}

void validate_cache(const runtime_config& cfg, std::size_t index) {
  const cache_config& cache = cfg.caches[index];
  if (cache.name.empty())
    throw config_error(cache_path(index, "name"), "expected a non-empty cache name, found \"\"");
  for (std::size_t j = 0; j < index; ++j)
    if (cfg.caches[j].name == cache.name)
      throw config_error(cache_path(index, "name"), "expected a unique cache name, found \"" +
                                                        cache.name + "\" which caches[" +
                                                        std::to_string(j) + "] already uses");
  for (const auto& [key, member] : duration_members) {
    if ((cache.*member).count() < 0)
      throw config_error(cache_path(index, key), "expected a non-negative duration, found " +
                                                     format_duration(cache.*member));
    // Timers and deadlines add these to the current time; keep that far from overflow.
    if (cache.*member > max_config_duration)
      throw config_error(cache_path(index, key), "expected a duration of at most 10 years "
                                                 "(use 0 for \"never\"), found " +
                                                     format_duration(cache.*member));
  }
  if (!(cache.xfetch_beta >= 0.0 && cache.xfetch_beta <= 1e6))
    throw config_error(cache_path(index, "xfetch_beta"),
                       "expected a non-negative number (at most 1e6), found " +
                           std::to_string(cache.xfetch_beta));
  // Written as a negated range test so that NaN is rejected too.
  if (!(cache.ttl_jitter >= 0.0 && cache.ttl_jitter < 1.0))
    throw config_error(cache_path(index, "ttl_jitter"),
                       "expected a number in [0, 1), found " + std::to_string(cache.ttl_jitter));
  if (cache.write_interval.count() <= 0)
    throw config_error(cache_path(index, "write_interval"),
                       "expected a positive duration, found 0");
  if (cache.write_retry.count() <= 0)
    throw config_error(cache_path(index, "write_retry"), "expected a positive duration, found 0");
  if (cache.write_retry_max < cache.write_retry)
    throw config_error(cache_path(index, "write_retry_max"),
                       "expected at least write_retry (" + format_duration(cache.write_retry) +
                           "), found " + format_duration(cache.write_retry_max));
  if (cache.load_timeout.count() > 0 && cache.batch_window >= cache.load_timeout)
    throw config_error(cache_path(index, "batch_window"),
                       "expected less than load_timeout (" + format_duration(cache.load_timeout) +
                           "): a batched load would time out before its batch is called; found " +
                           format_duration(cache.batch_window));
  if (cache.max_concurrent_loads > loader_thread_limit)
    throw config_error(cache_path(index, "max_concurrent_loads"),
                       "expected 0 (loader_threads) or at most " +
                           std::to_string(loader_thread_limit) + " loads, found " +
                           std::to_string(cache.max_concurrent_loads));
  if (cache.write_batch_size < 1)
    throw config_error(cache_path(index, "write_batch_size"),
                       "expected a positive integer, found 0");
  if (cache.max_dirty < 1)
    throw config_error(cache_path(index, "max_dirty"), "expected a positive integer, found 0");
  if (cache.batch_size < 1)
    throw config_error(cache_path(index, "batch_size"), "expected a positive integer, found 0");
  if (cache.error_backoff.count() > 0 && cache.error_backoff_max < cache.error_backoff)
    throw config_error(cache_path(index, "error_backoff_max"),
                       "expected at least error_backoff (" + format_duration(cache.error_backoff) +
                           "), found " + format_duration(cache.error_backoff_max));
  // A store set in code gets the checks parse_config gives a JSON one, when the runtime is
  // built rather than when the cache is first used (make_store connects to nothing).
  if (!cache.store.empty()) {
    if (!cache.store.json().is_object())
      throw config_error(cache_path(index, "store"),
                         "expected a store object, found " + describe_json(cache.store.json()));
    make_store(cache.store.json(), cache_path(index, "store"));
  }
}

void validate_resource(const runtime_config& cfg, std::size_t index) {
  const resource_config& r = cfg.resources[index];
  const std::string path = "resources[" + std::to_string(index) + "]";
  validate(r, path);
  for (std::size_t j = 0; j < index; ++j)
    if (cfg.resources[j].name == r.name)
      throw config_error(path + ".name", "expected a unique resource name, found \"" + r.name +
                                             "\" which resources[" + std::to_string(j) +
                                             "] already uses");
  // A resource read from a config can only get its loader by name.
  if (r.loader.empty())
    throw config_error(path + ".loader", "expected the name of a registered resource loader, "
                                         "found \"\"");
}

} // namespace

void validate(const runtime_config& cfg) {
  if (cfg.loader_threads < 1)
    throw config_error("loader_threads", "expected a positive integer, found 0");
  // Checked here so that a typo fails as a config error naming the key, not as a failed
  // thread start (std::system_error) half-way through building the pool.
  if (cfg.loader_threads > loader_thread_limit)
    throw config_error("loader_threads", "expected at most " + std::to_string(loader_thread_limit) +
                                             " threads, found " +
                                             std::to_string(cfg.loader_threads));
  if (cfg.max_loader_threads != 0 &&
      (cfg.max_loader_threads < cfg.loader_threads || cfg.max_loader_threads > loader_thread_limit))
    throw config_error("max_loader_threads", "expected 0 (automatic) or from loader_threads (" +
                                                 std::to_string(cfg.loader_threads) + ") to " +
                                                 std::to_string(loader_thread_limit) +
                                                 " threads, found " +
                                                 std::to_string(cfg.max_loader_threads));
  if (cfg.scheduler_policy != "sharing" && cfg.scheduler_policy != "stealing")
    throw config_error("scheduler_policy", "expected \"sharing\" or \"stealing\", found \"" +
                                               cfg.scheduler_policy + "\"");
  if (cfg.scheduler_threads > max_scheduler_threads)
    throw config_error("scheduler_threads",
                       "expected at most " + std::to_string(max_scheduler_threads) +
                           " threads, found " + std::to_string(cfg.scheduler_threads));
  if (cfg.metrics_windows < 1)
    throw config_error("metrics_windows", "expected a positive integer, found 0");
  if (cfg.metrics_cycle.count() <= 0 || cfg.metrics_cycle > max_config_duration)
    throw config_error("metrics_cycle", "expected a duration between 1ns and 10 years, found " +
                                            format_duration(cfg.metrics_cycle));
  if (std::string why;
      !cfg.metrics_http.listen.empty() && !parse_listen_address(cfg.metrics_http.listen, why))
    throw config_error("metrics_http.listen", why + ", found \"" + cfg.metrics_http.listen + "\"");
  for (std::size_t i = 0; i < cfg.caches.size(); ++i)
    validate_cache(cfg, i);
  for (std::size_t i = 0; i < cfg.resources.size(); ++i)
    validate_resource(cfg, i);
}

} // namespace corral
