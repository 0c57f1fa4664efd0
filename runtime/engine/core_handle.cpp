#include <corral/runtime/engine/core_handle.hpp>

#include <corral/runtime/engine/cache_core.hpp>
#include <corral/store/writer_actor.hpp>

namespace corral {

core_handle::found core_handle::find(std::string_view key, const entry*& out,
                                     detail::thread_slot_info slot, bool count) const noexcept {
  // Checked first: a stopped runtime's clock may be gone.
  if (core_->closing.load(std::memory_order_relaxed)) {
    if (count)
      core_->count(counter::errors);
    return found::closed;
  }
  auto kind = core_->fast_lookup(key, core_->hit_now(), out);
  if (kind == cache_core::lookup::miss)
    return found::miss;
  auto what = kind == cache_core::lookup::fresh   ? found::fresh
              : kind == cache_core::lookup::stale ? found::stale
                                                  : found::negative;
  if (count && core_->cfg.metrics)
    core_->count(what == found::fresh   ? counter::hits
                 : what == found::stale ? counter::stale_hits
                                        : counter::negative_hits,
                 slot);
  return what;
}

bool core_handle::closing() const noexcept {
  return core_->closing.load(std::memory_order_relaxed);
}

error core_handle::closed_error() const {
  return error{errc::shutting_down, "cache '" + core_->cfg.name + "' is closed"};
}

error core_handle::not_found_error(std::string_view key) const {
  return error{errc::not_found,
               "key '" + std::string{key} + "' not found in cache '" + core_->cfg.name + "'"};
}

time_point core_handle::now() const {
  return core_->now();
}

void core_handle::count(counter c) const noexcept {
  core_->count(c);
}

thread_counters& core_handle::counters() const noexcept {
  return core_->counters;
}

reply_token_ptr core_handle::make_token(std::string_view key,
                                        std::shared_ptr<reply_sink> sink) const {
  return std::make_shared<reply_token>(std::move(sink), std::string{key}, core_, &core_->counters);
}

void core_handle::send_get(std::string_view key, reply_token_ptr token, time_point deadline) const {
  std::string k{key};
  core_->send_to_key(k, local_get_msg{k, std::move(token), deadline});
}

error core_handle::put(std::string_view key, std::unique_ptr<entry> value) const {
  if (closing())
    return closed_error();
  return core_->put_entry(key, std::move(value));
}

flush_result core_handle::flush(duration timeout) const {
  flush_result r;
  if (!core_->write_behind) {
    r.complete = true; // a read-through cache has nothing to flush
    return r;
  }
  if (closing()) {
    r.error = closed_error().message;
    return r;
  }
  return flush_write_behind(*core_, timeout);
}

bool core_handle::invalidate(std::string_view key) const {
  if (closing())
    return false;
  core_->count(counter::invalidations);
  return core_->invalidate_both(key);
}

std::size_t core_handle::dirty() const noexcept {
  return core_->table.dirty_count();
}

std::size_t core_handle::size() const noexcept {
  return core_->table.size();
}

metrics_snapshot core_handle::metrics() const {
  return core_->metrics_now();
}

counter_values core_handle::counter_snapshot() const {
  return core_->counters.snapshot();
}

const cache_config& core_handle::config() const noexcept {
  return core_->cfg;
}

} // namespace corral
