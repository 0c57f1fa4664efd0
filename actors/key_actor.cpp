#include <corral/actors/key_actor.hpp>

#include <algorithm>
#include <atomic>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <corral/runtime/engine/backoff.hpp>
#include <corral/runtime/engine/caf_thread.hpp>
#include <corral/runtime/engine/epoch.hpp>
#include <corral/runtime/engine/erased_tier.hpp>

namespace corral {

namespace {

std::string millis(duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// On the loader thread, once a value is loaded: publishes it (so that the requester finds it
/// in memory the moment it is answered) and answers the request that started the load, one
/// thread hand-off before the key actor could. If the publish is refused (a newer put or
/// invalidate), the value stays in `out` for the key actor to answer the others with.
void publish_and_answer_lead(cache_core& core, const std::string& key, std::uint64_t version,
                             load_outcome& out, reply_token* lead) {
  detail::epoch_guard guard; // once published, the entry may be replaced and retired
  const entry* e = out.value.get();
  std::unique_ptr<entry> keep = std::move(out.value);
  out.published = core.publish_loaded(key, keep, out.took, version, core.load_clock_now());
  if (lead != nullptr)
    lead->deliver(outcome::of(e), core.counters, counter::misses);
  out.value = std::move(keep); // null when published
}

/// Answers a CAF request (get_atom) through the same token path as local requesters.
class promise_sink final : public reply_sink {
public:
  promise_sink(caf::typed_response_promise<std::string> p, const value_ops& ops)
      : promise_(std::move(p)), ops_(ops) {}
  void deliver(const outcome& o) noexcept override {
    if (o.value == nullptr) {
      promise_.deliver(make_caf_error(o.err.code, o.err.message));
      return;
    }
    std::string bytes;
    try {
      if (!ops_.encode(*o.value, bytes)) {
        promise_.deliver(make_caf_error(errc::no_codec, "value type has no corral::codec"));
        return;
      }
    } catch (const std::exception& ex) {
      promise_.deliver(make_caf_error(errc::bad_value, std::string{"codec failed: "} + ex.what()));
      return;
    }
    promise_.deliver(std::move(bytes));
  }

private:
  caf::typed_response_promise<std::string> promise_;
  const value_ops& ops_;
};

struct waiter {
  std::uint64_t id;
  reply_token_ptr token;
};

struct key_state {
  static inline const char* name = "corral.key";

  cache_core_ptr core;
  std::string key;
  std::size_t hash = 0; // entry_table::hash_key(key): the registry's and the table's shard
  caf::actor_addr me;   // this actor, as the registry knows it
  bool retired = false; // the registry dropped this actor (passivation): nothing to forget
  std::vector<waiter> waiters;
  std::uint64_t next_waiter_id = 0;
  std::uint64_t current_load = 0; // id of the load waiters wait on; 0 = none
  /// The current load's flags: abandoned (load_timeout) before its job started, the loader is
  /// not called at all.
  std::shared_ptr<load_flags> current_flags;
  std::uint64_t next_load_id = 0;
  std::size_t outstanding_loads = 0; // including loads abandoned after load_timeout
  unsigned failures = 0;             // consecutive failed loads
  time_point backoff_until{};
  std::string last_error;
  std::uint64_t processed = 0; // routed messages (gets, refreshes) handled

  /// However the actor ends (passivated, shut down, failed), its share of the gauges goes, and
  /// an actor that failed leaves the registry, so that the key's next request spawns a new one.
  ~key_state() {
    if (core) {
      core->metrics.loads_in_flight -= outstanding_loads;
      core->metrics.parked_waiters -= waiters.size();
      if (!retired)
        core->keys.forget(key, hash, me);
    }
  }
};

using self_ptr = key_actor::stateful_pointer<key_state>;

class key_logic {
public:
  explicit key_logic(self_ptr self) : self_(self), st_(self->state), cfg_(st_.core->cfg) {}
  key_logic(const key_logic&) = delete;
  key_logic& operator=(const key_logic&) = delete;

  /// Reports the events noted while handling the message, now that its epoch guard is gone:
  /// the user's log handler may take its time or use the cache.
  ~key_logic() {
    for (auto& [level, text] : pending_log_) {
      try {
        st_.core->log_event(level, [&] { return std::move(text); });
      } catch (...) { // out of memory naming the component: the event is lost, nothing else
      }
    }
  }

  /// A request routed to this actor: answer it now or park it.
  /// `local`: from a handle on this process (its token may be answered from a loader thread).
  void on_get(reply_token_ptr token, time_point deadline, bool local) {
    ++st_.processed;
    auto now = st_.core->now();
    detail::epoch_guard guard;
    const entry* e = st_.core->table.find_exact(st_.key);
    if (e != nullptr && e->fresh_at(now)) {
      answer_current(*token, e);
      if (now >= e->refresh_at && now >= st_.backoff_until)
        st_.core->request_refresh_once(*e, st_.key); // as a reader on the hit path would
      return;
    }
    if (stale_usable(e, now, cfg_.stale_while_revalidate)) {
      count_and_deliver(*token, outcome::of(e, true), counter::stale_hits);
      if (now >= st_.backoff_until) // a stale read must not bypass the error backoff
        start_load();
      return;
    }
    if (now < st_.backoff_until) {
      fail_or_stale(*token, e, now, errc::load_failed,
                    "key '" + st_.key + "' is backing off after a failed load: " + st_.last_error);
      return;
    }
    if (!st_.core->can_load()) {
      count_and_deliver(*token,
                        outcome::failed(errc::no_loader, "cache '" + cfg_.name +
                                                             "' has no loader and key '" + st_.key +
                                                             "' is absent"),
                        counter::errors);
      return;
    }
    if (deadline <= now) {
      count_and_deliver(*token, outcome::failed(errc::timeout, deadline_message()),
                        counter::timeouts);
      return;
    }
    auto id = ++st_.next_waiter_id;
    st_.waiters.push_back({id, token});
    ++st_.core->metrics.parked_waiters;
    if (deadline != time_point::max())
      self_->delayed_send(self_, deadline - now, deadline_atom::value, id);
    start_load(local && token->quick_to_deliver() ? std::move(token) : nullptr);
  }

  void on_refresh() {
    ++st_.processed;
    if (st_.core->now() >= st_.backoff_until)
      start_load();
  }

  void on_load_done(load_done_msg& msg) {
    --st_.outstanding_loads;
    --st_.core->metrics.loads_in_flight;
    bool current = msg.load_id == st_.current_load;
    if (current)
      st_.current_load = 0;
    auto& out = *msg.outcome;
    if (out.skipped) { // abandoned before it started: the loader never ran
      report_if_idle();
      return;
    }
    if (out.overloaded) { // a batch load the bulkhead refused: the loader never ran
      if (current)
        refuse_waiters(out.error_message);
      report_if_idle();
      return;
    }
    auto now = st_.core->now();
    detail::epoch_guard guard;
    switch (out.result) {
    case load_outcome::kind::value: {
      const entry* e = out.value.get();
      std::unique_ptr<entry> keep = std::move(out.value);
      bool published = false;
      if (out.published) {
        // The loader thread published it: answer from the table, where it is (or a newer
        // write is). If it was removed since (invalidated, evicted), whoever still waits
        // needs a value: load again.
        e = st_.core->table.find_exact(st_.key);
        if (e == nullptr || e->kind != entry_kind::value) {
          on_success();
          if (!st_.waiters.empty())
            start_load();
          break;
        }
        published = e->version == msg.version;
      } else {
        // A put or invalidate newer than this load wins; waiters still get what they asked
        // for. (A batch load comes here; so does a publish the loader thread saw refused,
        // which is refused again.)
        published = st_.core->publish_loaded(st_.key, keep, out.took, msg.version, now);
      }
      if (published && out.from_source)
        write_back(*e, msg.version);
      on_success();
      // Also when the load was abandoned after load_timeout: a fresh value is here, so the
      // requests waiting on a newer load need not wait any longer.
      answer_all([&](reply_token& t) { count_and_deliver(t, outcome::of(e), counter::misses); });
      break; // `keep` frees e here only if publish refused it
    }
    case load_outcome::kind::not_found: {
      st_.core->publish_not_found(st_.key, msg.version, now);
      on_success();
      if (current)
        answer_all([&](reply_token& t) {
          count_and_deliver(t, outcome::failed(errc::not_found, not_found_message()),
                            counter::misses);
        });
      break;
    }
    case load_outcome::kind::error: {
      st_.core->count(counter::load_errors);
      // Without the key: a failing source fails every key alike, and the sink's rate limit
      // then makes one line of them per window.
      note(log_level::warning, [&] { return "load failed: " + out.error_message; });
      on_failure(now, out.error_message);
      if (current) {
        const entry* e = st_.core->table.find_exact(st_.key);
        auto msg_text = "loader for key '" + st_.key + "' in cache '" + cfg_.name +
                        "' failed: " + out.error_message;
        answer_all([&](reply_token& t) { fail_or_stale(t, e, now, errc::load_failed, msg_text); });
      }
      break;
    }
    }
    report_if_idle();
  }

  void on_load_timeout(std::uint64_t load_id) {
    if (load_id != st_.current_load)
      return;
    // Abandon the load: its waiters are answered now; a late success is still stored, and a
    // job still queued will not call the loader at all.
    st_.current_load = 0;
    // Raised first, so that the job's lowering (on return) never comes before it.
    ++st_.core->metrics.abandoned_running;
    if (st_.current_flags->abandon())
      st_.core->count(counter::abandoned_loads); // its thread stays taken until it returns
    else
      --st_.core->metrics.abandoned_running; // not started yet (it will skip), or just returned
    auto now = st_.core->now();
    detail::epoch_guard guard;
    const entry* e = st_.core->table.find_exact(st_.key);
    auto text = "load of key '" + st_.key + "' in cache '" + cfg_.name + "' timed out after " +
                millis(cfg_.load_timeout);
    answer_all([&](reply_token& t) { fail_or_stale(t, e, now, errc::timeout, text); });
    note(log_level::warning,
         [&] { return "load timed out after " + millis(cfg_.load_timeout) + " (load_timeout)"; });
    report_if_idle();
  }

  void on_deadline(std::uint64_t waiter_id) {
    auto i = std::find_if(st_.waiters.begin(), st_.waiters.end(),
                          [&](const waiter& w) { return w.id == waiter_id; });
    if (i == st_.waiters.end())
      return;
    auto token = std::move(i->token);
    st_.waiters.erase(i);
    --st_.core->metrics.parked_waiters;
    count_and_deliver(*token, outcome::failed(errc::timeout, deadline_message()),
                      counter::timeouts);
    report_if_idle();
  }

  void on_shutdown() {
    auto text = "cache '" + cfg_.name + "' is shutting down; key '" + st_.key + "' was not loaded";
    answer_all([&](reply_token& t) {
      count_and_deliver(t, outcome::failed(errc::shutting_down, text), counter::errors);
    });
    self_->quit();
  }

  /// With nothing left to do, the actor becomes a passivation candidate in the registry (which
  /// ignores the report if a message routed to it is still unhandled).
  void report_if_idle() {
    if (st_.waiters.empty() && st_.outstanding_loads == 0)
      st_.core->keys.mark_idle(st_.key, st_.hash, st_.me, st_.processed, st_.core->now());
  }

private:
  /// Starts a load unless one is in flight. `lead`, the local request that asked for it (if
  /// any), is answered by the loader thread as soon as a value is loaded, before this actor
  /// publishes it and answers the others: one thread hand-off fewer on the miss path. Its token
  /// stays among the waiters, so whichever answer comes first is the one it gets.
  void start_load(reply_token_ptr lead = nullptr) {
    if (st_.current_load != 0 || !st_.core->can_load())
      return;
    auto id = ++st_.next_load_id;
    auto version = st_.core->table.next_version();
    auto core = st_.core;
    auto key = st_.key;
    auto flags = std::make_shared<load_flags>();
    // A weak address: a job stuck past shutdown must not keep the actor (and its system) alive.
    auto me = self_->address();
    auto admitted = bulkhead::admission::accepted;
    if (core->batch_loader) {
      auto batcher = core->batcher_handle();
      if (batcher)
        self_->send(batcher, batch_item_msg{key, id, version, me, flags});
      else
        admitted = bulkhead::admission::stopped;
    } else
      admitted = core->submit([core, key, id, version, me, flags, lead = std::move(lead)] {
        std::shared_ptr<load_outcome> out;
        if (!flags->begin()) {
          out = std::make_shared<load_outcome>();
          out->skipped = true;
        } else {
          out = core->run_load(key);
          if (out->result == load_outcome::kind::value)
            publish_and_answer_lead(*core, key, version, *out, lead.get());
        }
        if (flags->finish())
          --core->metrics.abandoned_running;
        core->post_to(me, load_done_msg{id, version, std::move(out)});
      });
    if (admitted == bulkhead::admission::overloaded) {
      // No load is in flight: the waiters hear why, and the next request tries again.
      refuse_waiters(core->overloaded_error(key).message);
      return;
    }
    if (admitted == bulkhead::admission::stopped) {
      answer_all([&](reply_token& t) {
        count_and_deliver(t, outcome::failed(errc::shutting_down, "loader pool stopped"),
                          counter::errors);
      });
      return;
    }
    st_.current_load = id;
    st_.current_flags = flags;
    ++st_.outstanding_loads;
    st_.core->count(counter::loads);
    if (st_.waiters.empty())
      st_.core->count(counter::refreshes); // nobody waits: a background refresh
    ++st_.core->metrics.loads_in_flight;
    if (cfg_.load_timeout.count() > 0) {
      // The supervisor times the load out (load_watch.hpp); only an unarmed watch needs a timer.
      auto deadline = saturating_add(st_.core->now(), cfg_.load_timeout);
      if (st_.core->watched_loads.add(deadline, st_.me, id, std::move(flags)))
        if (auto supervisor = st_.core->supervisor_handle())
          self_->delayed_send(supervisor, cfg_.load_timeout, load_check_atom::value);
    }
  }

  /// Answers every waiter that the bulkhead refused their load (errc::overloaded), or with the
  /// stale value if stale_if_error allows. No error backoff: the loader did not fail.
  void refuse_waiters(const std::string& text) {
    auto now = st_.core->now();
    detail::epoch_guard guard;
    const entry* e = st_.core->table.find_exact(st_.key);
    answer_all([&](reply_token& t) { fail_or_stale(t, e, now, errc::overloaded, text); });
    note(log_level::warning, [&] {
      return "loads refused: bulkhead full (max_concurrent_loads " +
             std::to_string(st_.core->load_slots.max_running()) + ", max_queued_loads " +
             std::to_string(st_.core->load_slots.max_queued()) + ")";
    });
  }

  /// Writes a source value back to tier 1, after the requesters are answered and only while it
  /// is still the key's current entry (see cache_core::write_back_if_current).
  void write_back(const entry& e, std::uint64_t version) {
    auto& core = st_.core;
    if (!core->tier1)
      return;
    std::function<void()> job;
    try {
      job = core->tier1->write_back(st_.key, e); // copies the value now, while e is alive
    } catch (...) {
      return; // the copy failed: a write-back only saves a future tier-1 miss
    }
    // Refused by a full bulkhead (counted) or the stopped runtime: a write-back only saves a
    // future tier-1 miss.
    core->submit([core, key = st_.key, version, job = std::move(job)] {
      core->write_back_if_current(key, version, job);
    });
  }

  void on_success() {
    if (st_.failures > 0 && cfg_.error_backoff.count() > 0)
      note(log_level::info, [&] {
        return "key '" + st_.key + "' loaded again after " + std::to_string(st_.failures) +
               " failed loads: its error backoff ended";
      });
    st_.failures = 0;
    st_.backoff_until = {};
  }

  void on_failure(time_point now, const std::string& message) {
    ++st_.failures;
    st_.last_error = message;
    if (cfg_.error_backoff.count() > 0) {
      auto backoff = doubled_backoff(cfg_.error_backoff, st_.failures, cfg_.error_backoff_max);
      st_.backoff_until = saturating_add(now, std::min(backoff, cfg_.error_backoff_max));
      if (st_.failures == 1)
        note(log_level::info, [&] {
          return "key '" + st_.key + "' backs off for " +
                 millis(std::min(backoff, cfg_.error_backoff_max)) +
                 " after a failed load: " + message;
        });
    }
  }

  /// Keeps an event for the destructor (the message is built only if its level is enabled).
  template <class F> void note(log_level level, F&& make_message) {
    if (st_.core->log && st_.core->log->enabled(level))
      pending_log_.emplace_back(level, make_message());
  }

  static bool stale_usable(const entry* e, time_point now, duration window) {
    return e != nullptr && e->kind == entry_kind::value && window.count() > 0 &&
           now - e->expires_at < window;
  }

  void answer_current(reply_token& t, const entry* e) {
    if (e->kind == entry_kind::value)
      count_and_deliver(t, outcome::of(e), counter::hits);
    else
      count_and_deliver(t, outcome::failed(errc::not_found, not_found_message()),
                        counter::negative_hits);
  }

  void fail_or_stale(reply_token& t, const entry* e, time_point now, errc code,
                     const std::string& text) {
    if (stale_usable(e, now, cfg_.stale_if_error))
      count_and_deliver(t, outcome::of(e, true), counter::stale_on_error);
    else
      count_and_deliver(t, outcome::failed(code, text),
                        code == errc::timeout ? counter::timeouts : counter::errors);
  }

  /// Counts the request as `c` only if this answer is the one it gets: its requester may have
  /// given up and answered it already (reply_token::deliver claims, counts, then delivers).
  void count_and_deliver(reply_token& t, const outcome& o, counter c) {
    t.deliver(o, st_.core->counters, c);
  }

  template <class F> void answer_all(F&& f) {
    auto waiters = std::move(st_.waiters);
    st_.waiters.clear();
    st_.core->metrics.parked_waiters -= waiters.size();
    for (auto& w : waiters)
      f(*w.token);
  }

  std::string not_found_message() const {
    return "key '" + st_.key + "' not found in cache '" + cfg_.name + "'";
  }
  std::string deadline_message() const {
    return "request for key '" + st_.key + "' in cache '" + cfg_.name + "' passed its deadline";
  }

  self_ptr self_;
  key_state& st_;
  const cache_config& cfg_;
  std::vector<std::pair<log_level, std::string>> pending_log_;
};

key_actor::behavior_type key_actor_impl(self_ptr self, cache_core_ptr core, std::string key,
                                        std::size_t hash) {
  self->state.core = std::move(core);
  self->state.key = std::move(key);
  self->state.hash = hash;
  self->state.me = self->address();
  return {
      [self](get_atom, const std::string&) -> caf::result<std::string> {
        auto promise = self->make_response_promise<std::string>();
        auto sink = std::make_shared<promise_sink>(promise, self->state.core->ops);
        // A CAF response promise is answered from this actor only (its context is not
        // thread-safe): not local.
        key_logic{self}.on_get(std::make_shared<reply_token>(sink, self->state.key,
                                                             self->state.core,
                                                             &self->state.core->counters),
                               time_point::max(), false);
        key_logic{self}.report_if_idle();
        return promise;
      },
      [self](local_get_msg& msg) {
        key_logic{self}.on_get(std::move(msg.token), msg.deadline, true);
        key_logic{self}.report_if_idle();
      },
      [self](refresh_atom) {
        key_logic{self}.on_refresh();
        key_logic{self}.report_if_idle(); // a refresh that starts no load leaves the key idle
      },
      [self](load_done_msg& msg) { key_logic{self}.on_load_done(msg); },
      [self](load_timeout_atom, std::uint64_t id) { key_logic{self}.on_load_timeout(id); },
      [self](deadline_atom, std::uint64_t id) { key_logic{self}.on_deadline(id); },
      [self](passivate_atom) { // the registry dropped this actor already
        self->state.retired = true;
        self->quit();
      },
      [self](shutdown_atom) { key_logic{self}.on_shutdown(); },
  };
}

} // namespace

key_actor spawn_key_actor(caf::actor_system& sys, cache_core_ptr core, std::string key,
                          std::size_t hash) {
  detail::caf_thread_guard guard{sys}; // usually a requester's thread: see caf_thread.hpp
  return sys.spawn<caf::lazy_init>(key_actor_impl, std::move(core), std::move(key), hash);
}

} // namespace corral
