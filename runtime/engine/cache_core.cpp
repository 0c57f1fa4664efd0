#include <corral/runtime/engine/cache_core.hpp>

#include <algorithm>
#include <random>

#include <corral/runtime/engine/backoff.hpp>
#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/erased_tier.hpp>
#include <corral/store/write_behind.hpp>

#include <ctime>

#include <caf/detail/test_actor_clock.hpp>

namespace corral {

namespace {

/// How long a refresh refused by a full bulkhead waits before a reader may ask again.
constexpr duration overloaded_refresh_wait = std::chrono::milliseconds(100);

} // namespace

void cache_core::request_refresh(const entry& e, std::string_view key) const {
  if (batch_loader || !loader) { // batch caches coalesce refreshes in their batcher
    // Routing counts a message on the key's slot: the registry is shared mutable state.
    const_cast<cache_core*>(this)->send_to_key(std::string{key}, refresh_atom::value);
    return;
  }
  // One pool job and one publish: a refresh-on-access reload has no waiter, so it needs no
  // actor, no timer and no message (the hit path never waits, see docs/design.md, "Hits never
  // send a message"; neither does this).
  auto self = std::const_pointer_cast<cache_core>(shared_from_this());
  auto version = table.next_version(); // a put or invalidate after this wins over the result
  auto origin = e.version;
  auto admitted = submit([self, key = std::string{key}, version, origin] {
    auto out = self->run_load(key);
    self->finish_refresh(key, version, origin, *out);
  });
  if (admitted == bulkhead::admission::accepted) {
    counters.add(counter::loads);
    counters.add(counter::refreshes);
  } else {
    // The runtime stopped, or the bulkhead is full (counted): the entry is still served, and
    // the first reader after a short wait asks again (not every hit meanwhile: each would take
    // the bulkhead's lock only to be refused).
    if (admitted == bulkhead::admission::overloaded)
      e.refresh_retry_at.store(
          saturating_add(hit_now(), overloaded_refresh_wait).time_since_epoch().count());
    e.refresh_requested.store(false);
  }
}

error cache_core::overloaded_error(std::string_view key) const {
  return {errc::overloaded,
          "cache '" + cfg.name + "' is overloaded: " + std::to_string(load_slots.running()) +
              " loads running (max_concurrent_loads " + std::to_string(load_slots.max_running()) +
              ") and " + std::to_string(load_slots.queued()) + " queued (max_queued_loads " +
              std::to_string(load_slots.max_queued()) + "); load of key '" + std::string{key} +
              "' refused"};
}

void cache_core::passivate(const std::vector<key_actor>& retired) {
  for (auto& actor : retired)
    caf::anon_send(actor, passivate_atom::value);
  counters.add(counter::passivations, retired.size());
}

void cache_core::stop_key_actors() {
  for (auto& actor : keys.close())
    caf::anon_send(actor, shutdown_atom::value);
}

void cache_core::finish_refresh(const std::string& key, std::uint64_t version, std::uint64_t origin,
                                load_outcome& out) {
  auto now = load_clock_now();
  switch (out.result) {
  case load_outcome::kind::value: {
    std::function<void()> job; // tier 1's copy of the value, stored once the guard is left
    try {
      detail::epoch_guard guard; // once published, `fresh` may be replaced and retired
      const entry* fresh = out.value.get();
      std::unique_ptr<entry> keep = std::move(out.value);
      if (!publish_loaded(key, keep, out.took, version, now))
        retry_refresh_later(key, origin, now, cfg.refresh_after); // refused by a newer write
      else if (out.from_source && tier1)
        job = tier1->write_back(key, *fresh);
    } catch (...) { // a write-back only saves a future tier-1 miss
      return;
    }
    if (job) {
      try {
        write_back_if_current(key, version, job);
      } catch (...) {
      }
    }
    return;
  }
  case load_outcome::kind::not_found:
    publish_not_found(key, version, now);
    return; // without negative caching the current value stays until its ttl
  case load_outcome::kind::error: {
    count(counter::load_errors);
    // The same text as a key actor's failed load: a failing source is one key, refresh or not.
    log_event(log_level::warning, [&] { return "load failed: " + out.error_message; });
    detail::epoch_guard guard;
    const entry* e = table.find_exact(key);
    if (e == nullptr || e->version != origin)
      return; // replaced meanwhile: the new entry has its own refresh state
    unsigned failures = e->refresh_failures.load() + 1u;
    e->refresh_failures.store(static_cast<std::uint8_t>(std::min(failures, 30u)));
    auto base = cfg.error_backoff.count() > 0 ? cfg.error_backoff : cfg.refresh_after;
    auto backoff = std::min(doubled_backoff(base, failures, cfg.error_backoff_max),
                            std::max(cfg.error_backoff_max, cfg.refresh_after));
    retry_refresh_later(key, origin, now, backoff);
    return;
  }
  }
}

void cache_core::retry_refresh_later(const std::string& key, std::uint64_t origin, time_point now,
                                     duration wait) {
  detail::epoch_guard guard;
  const entry* e = table.find_exact(key);
  if (e == nullptr || e->version != origin)
    return; // replaced meanwhile: the new entry has its own refresh state
  e->refresh_retry_at.store(saturating_add(now, wait).time_since_epoch().count());
  e->refresh_requested.store(false); // the first reader after `wait` tries again
}

bool cache_core::publish_loaded(std::string_view key, std::unique_ptr<entry>& value, duration took,
                                std::uint64_t version, time_point now) {
  value->expires_at = load_expiry(now, cfg.ttl);
  value->refresh_at = refresh_due(now);
  value->load_time = took; // XFetch's delta
  prepare_for_bounds(key, *value);
  bool inserted = false;
  if (!table.publish(key, value, version, now, &inserted))
    return false;
  after_publish(key, inserted, now);
  return true;
}

void cache_core::after_publish(std::string_view key, bool inserted, time_point now) {
  if (!policy.bounded())
    return;
  if (inserted)
    policy.record_insert(table, key, entry_table::hash_key(key));
  else if (cfg.max_weight == 0)
    return; // a replacement keeps the count; only its weight may have grown

  // One insert adds one entry; a heavy value may need several light ones to go (max_weight).
  constexpr std::size_t evictions_per_insert = 64;
  enforce_bounds(now, evictions_per_insert);
}

std::size_t cache_core::enforce_bounds(time_point now, std::size_t max_evictions) {
  const eviction_policy::busy_fn is_busy = [this](const std::string& k, std::size_t h) {
    return key_busy(k, h);
  };
  return policy.enforce(table, is_busy, now, max_evictions,
                        [&](const eviction_policy::eviction& ev) {
                          count(ev.why == eviction_policy::cause::size ? counter::evictions
                                                                       : counter::weight_evictions);
                          if (ev.rejected)
                            count(counter::admission_rejections);
                        });
}

void cache_core::publish_not_found(std::string_view key, std::uint64_t version, time_point now) {
  if (cfg.negative_ttl.count() <= 0)
    return;
  auto neg = std::make_unique<entry>();
  neg->kind = entry_kind::not_found;
  neg->expires_at = load_expiry(now, cfg.negative_ttl);
  prepare_for_bounds(key, *neg);
  bool inserted = false;
  if (table.publish(key, neg, version, now, &inserted))
    after_publish(key, inserted, now);
}

time_point cache_core::load_expiry(time_point now, duration ttl) const noexcept {
  if (ttl.count() <= 0)
    return time_point::max();
  if (cfg.ttl_jitter > 0) // a cut in [0, ttl_jitter): 1 - u is in [0, 1)
    ttl -= std::chrono::duration_cast<duration>(ttl * (cfg.ttl_jitter * (1.0 - draw_uniform())));
  return saturating_add(now, ttl);
}

double cache_core::draw_uniform() const noexcept {
  if (xfetch_random)
    return xfetch_random();
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // (0, 1]: 1 - [0, 1) keeps ln() finite.
  return 1.0 - std::uniform_real_distribution<double>{0.0, 1.0}(rng);
}

bool cache_core::uses_real_time(const caf::actor_clock& clk) noexcept {
  return dynamic_cast<const caf::detail::test_actor_clock*>(&clk) == nullptr;
}

time_point cache_core::hit_now() const noexcept {
  if (!coarse_clock_)
    return clock.now();
  // libstdc++'s steady_clock is CLOCK_MONOTONIC; the coarse variant shares its origin.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return time_point{std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec}};
}

} // namespace corral

namespace corral {

namespace {

std::uint64_t ns_between(time_point a, time_point b) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count()));
}

} // namespace

std::shared_ptr<load_outcome> cache_core::ask_tier1(const std::string& key) {
  if (!tier1)
    return nullptr;
  auto start = load_clock_now();
  auto r = tier1->get(key);
  auto end = load_clock_now();
  metrics.record(timing::tier1, ns_between(start, end));
  if (r.result != erased_tier::status::hit) {
    count(r.result == erased_tier::status::miss ? counter::tier1_misses : counter::tier1_errors);
    return nullptr;
  }
  count(counter::tier1_hits);
  auto out = std::make_shared<load_outcome>();
  out->result = load_outcome::kind::value;
  out->value = std::move(r.value);
  out->took = end - start;
  return out;
}

std::shared_ptr<load_outcome> cache_core::run_load(const std::string& key) noexcept {
  try {
    auto start = load_clock_now();
    if (auto out = ask_tier1(key)) {
      metrics.record(timing::load, static_cast<std::uint64_t>(out->took.count()));
      return out;
    }
    // A copy, taken under a short epoch guard: the loader may block for long, and holding the
    // guard meanwhile would hold back reclamation for every cache.
    std::unique_ptr<entry> previous;
    if (loader.wants_previous()) {
      detail::epoch_guard guard;
      const entry* e = table.find_exact(key);
      if (e != nullptr && e->kind == entry_kind::value)
        previous = ops.clone(*e);
    }
    auto source_start = load_clock_now();
    auto out = loader(key, previous.get());
    auto end = load_clock_now();
    metrics.record(timing::source, ns_between(source_start, end));
    metrics.record(timing::load, ns_between(start, end));
    count(out->result == load_outcome::kind::error ? counter::source_errors
                                                   : counter::source_loads);
    out->from_source = true;
    out->took = end - start; // on the runtime's clock (the test clock in tests)
    return out;
  } catch (const std::exception& ex) {
    auto out = std::make_shared<load_outcome>(); // if even this throws, terminate is fair
    out->error_message = std::string{"load failed: "} + ex.what();
    return out;
  }
}

std::vector<std::shared_ptr<load_outcome>>
cache_core::run_batch_load(const std::vector<std::string>& keys) noexcept {
  std::vector<std::shared_ptr<load_outcome>> outs(keys.size());
  try {
    auto start = load_clock_now();
    std::vector<std::string> source_keys;
    std::vector<std::size_t> source_slots;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if ((outs[i] = ask_tier1(keys[i])))
        continue;
      source_keys.push_back(keys[i]);
      source_slots.push_back(i);
    }
    if (!source_keys.empty()) {
      auto source_start = load_clock_now();
      auto loaded = batch_loader(source_keys);
      auto end = load_clock_now();
      metrics.record(timing::source, ns_between(source_start, end));
      for (std::size_t j = 0; j < source_slots.size(); ++j) {
        auto& out = loaded.at(j); // a wrapped batch loader returns one outcome per key
        count(out->result == load_outcome::kind::error ? counter::source_errors
                                                       : counter::source_loads);
        out->from_source = true;
        out->took = end - start; // the whole batch: what this key's load cost in time
        outs[source_slots[j]] = std::move(out);
      }
    }
    auto end = load_clock_now();
    for (std::size_t i = 0; i < keys.size(); ++i) // one load per key, as without batching
      metrics.record(timing::load, ns_between(start, end));
  } catch (const std::exception& ex) {
    for (auto& out : outs) {
      if (!out || out->result != load_outcome::kind::value) {
        out = std::make_shared<load_outcome>(); // if even this throws, terminate is fair
        out->error_message = std::string{"batch load failed: "} + ex.what();
      }
    }
  }
  return outs;
}

error cache_core::put_entry(std::string_view key, std::unique_ptr<entry> e, bool may_wait) {
  auto now = hit_now(); // the coarse clock, as reads use: ~8% of a put with steady_clock
  e->refresh_at = refresh_due(now);
  auto* wb = write_behind.get();
  if (wb == nullptr) {
    e->expires_at = put_expiry(now);
    return publish_put(key, e, now);
  }
  // Counted before `closing` is read (both sequentially consistent): either shutdown sees this
  // put in flight and waits for it, or this put sees `closing` and is refused.
  wb->puts_in_flight.fetch_add(1);
  struct leave {
    write_behind_link& wb;
    ~leave() { wb.puts_in_flight.fetch_sub(1); }
  } in_flight{*wb};
  if (closing.load())
    return {errc::shutting_down, "cache '" + cfg.name + "' is shutting down; put of key '" +
                                     std::string{key} + "' refused"};
  if (auto err = wait_for_room(key, may_wait); err.code != errc::none)
    return err;
  e->dirty = true;
  e->expires_at = time_point::max(); // the newest truth: it never expires, even once written
  if (auto refused = publish_put(key, e, now); refused.code != errc::none)
    return refused;
  if (table.dirty_count() >= cfg.write_batch_size && !wb->drain_requested.exchange(true))
    post_to(writer_address(), drain_atom::value);
  return {};
}

error cache_core::publish_put(std::string_view key, std::unique_ptr<entry>& e, time_point now) {
  if (before_put_publish)
    before_put_publish(key);
  // The version is taken under the shard lock: whatever was published before (a load that
  // finished first, a cleaned write) is older, so a put that returns success is the key's value.
  prepare_for_bounds(key, *e);
  bool inserted = false;
  if (!table.publish_newest(key, e, now, &inserted)) // only a clean put over an unwritten value
    return {errc::write_failed, "key '" + std::string{key} + "' of cache '" + cfg.name +
                                    "' holds an unwritten value; put refused"};
  count(counter::puts);
  after_publish(key, inserted, now);
  return {};
}

error cache_core::wait_for_room(std::string_view key, bool may_wait) {
  auto full = [&] { return table.dirty_count() >= cfg.max_dirty; };
  if (!full())
    return {};
  {
    detail::epoch_guard guard; // a put over an unwritten value does not grow the backlog
    const entry* cur = table.find_exact(key);
    if (cur != nullptr && cur->dirty.load(std::memory_order_relaxed))
      return {};
  }
  auto& wb = *write_behind;
  if (!wb.drain_requested.exchange(true))
    post_to(writer_address(), drain_atom::value);
  if (may_wait && cfg.max_dirty_wait.count() > 0) {
    std::unique_lock<std::mutex> lock{wb.room_mtx};
    wb.room_cv.wait_for(lock, cfg.max_dirty_wait, [&] { return !full() || closing.load(); });
    if (closing.load())
      return {errc::shutting_down, "cache '" + cfg.name + "' is shutting down; put of key '" +
                                       std::string{key} + "' refused"};
    if (!full())
      return {};
  }
  count(counter::errors);
  return {errc::backlog_full, "cache '" + cfg.name + "' has " +
                                  std::to_string(table.dirty_count()) +
                                  " unwritten entries (max_dirty " + std::to_string(cfg.max_dirty) +
                                  "); put of key '" + std::string{key} + "' refused"};
}

void cache_core::write_back_if_current(const std::string& key, std::uint64_t version,
                                       const std::function<void()>& value_job) {
  // The stripe lock keeps an invalidate of the key from slipping between the check and the
  // set. The epoch guard covers only the check: tier1's set may be network I/O, and a guard
  // held across it would stall reclamation for every cache.
  std::lock_guard<std::mutex> guard{tier_lock(key)};
  if (current_version(key) == version)
    value_job();
}

std::uint64_t cache_core::current_version(std::string_view key) const {
  detail::epoch_guard epoch;
  const entry* e = table.find_exact(key);
  return e != nullptr ? e->version : 0;
}

bool cache_core::invalidate_both(std::string_view key) {
  std::lock_guard<std::mutex> guard{tier_lock(key)};
  auto drop_local = [&] { return table.erase(key); };
  if (tier1) {
    try {
      tier1->erase(std::string{key});
    } catch (...) {
      drop_local();
      throw;
    }
  }
  return drop_local();
}

} // namespace corral
