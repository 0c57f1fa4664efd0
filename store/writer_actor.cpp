#include <corral/store/writer_actor.hpp>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <corral/runtime/engine/backoff.hpp>
#include <corral/runtime/engine/epoch.hpp>

namespace corral {

namespace {

/// One flush() waiting: the keys dirty at its call, with the version each must reach.
struct flush_waiter {
  std::uint64_t id;
  std::shared_ptr<flush_ticket> ticket;
  std::unordered_map<std::string, std::uint64_t> pending;
  flush_result result;
};

struct writer_state {
  static inline const char* name = "corral.writer";
  cache_core_ptr core;
  /// The writer thread's connection; only the one batch in flight touches it.
  std::shared_ptr<std::unique_ptr<store_session>> session =
      std::make_shared<std::unique_ptr<store_session>>();
  bool in_flight = false;
  unsigned failures = 0; // consecutive failed batches
  time_point backoff_until{};
  bool retry_armed = false;
  std::string last_error;
  std::vector<flush_waiter> waiters;
  std::uint64_t next_waiter = 0;
};

using self_ptr = writer_actor::stateful_pointer<writer_state>;

class writer_logic {
public:
  explicit writer_logic(self_ptr self)
      : self_(self), st_(self->state), core_(*st_.core), link_(*core_.write_behind),
        cfg_(core_.cfg) {}

  /// Starts the next batch unless one is in flight or the store is backing off.
  void drain() {
    link_.drain_requested = false;
    if (st_.in_flight)
      return;
    auto now = core_.now();
    if (now < st_.backoff_until) {
      arm_retry(now);
      return;
    }
    auto records = collect();
    if (records.empty()) {
      if (core_.table.dirty_count() == 0)
        settle_empty();
      else // everything taken was dead-lettered in collect(): take the next ones
        self_->send(self_, drain_atom::value);
      return;
    }
    st_.in_flight = true;
    auto core = st_.core;
    auto session = st_.session;
    auto me = self_->address();
    bool queued = link_.writes->submit([core, session, me, records = std::move(records)]() mutable {
      auto& link = *core->write_behind;
      auto start = clock_type::now();
      auto report = std::make_shared<batch_report>(
          write_batch(*link.store, *session, std::move(records), link.hooks));
      core->metrics.record(timing::write, static_cast<std::uint64_t>(
                                              std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  clock_type::now() - start)
                                                  .count()));
      core->post_to(me, write_done_msg{std::move(report)});
    });
    if (!queued)
      st_.in_flight = false; // the writer thread stopped: shutting down
  }

  void on_done(batch_report& report) {
    st_.in_flight = false;
    auto now = core_.now();
    for (auto& rec : report.written) {
      merge_back(rec);
      core_.table.mark_clean(rec.key, rec.version);
      core_.count(counter::writes);
    }
    for (auto& dead : report.dead) {
      core_.table.mark_clean(dead.record.key, dead.record.version);
      core_.count(counter::dead_letters);
    }
    if (report.retry) {
      core_.count(counter::write_failures);
      ++st_.failures;
      st_.last_error = report.error;
      auto backoff = doubled_backoff(cfg_.write_retry, st_.failures, cfg_.write_retry_max);
      st_.backoff_until = saturating_add(now, std::min(backoff, cfg_.write_retry_max));
    } else {
      st_.failures = 0;
      st_.backoff_until = {};
    }
    settle(report);
    link_.room_made();
    if (report.retry)
      arm_retry(now); // the same items, once the backoff has passed
    else if (core_.table.dirty_count() >= cfg_.write_batch_size || !st_.waiters.empty())
      drain(); // keep going while there is a full batch or a flush is waiting
  }

  void on_flush(std::shared_ptr<flush_ticket> ticket) {
    flush_waiter w{++st_.next_waiter, std::move(ticket), {}, {}};
    for (auto& item : core_.table.take_dirty(SIZE_MAX))
      w.pending.emplace(std::move(item.key), item.version);
    if (w.pending.empty()) {
      w.result.complete = true;
      w.ticket->done.set_value(std::move(w.result));
      return;
    }
    auto deadline = w.ticket->deadline;
    auto now = core_.now();
    if (deadline != time_point::max())
      self_->delayed_send(self_, deadline > now ? deadline - now : duration{0},
                          deadline_atom::value, w.id);
    st_.waiters.push_back(std::move(w));
    st_.backoff_until = {}; // a flush tries the store now, even while backing off
    drain();
  }

  void on_deadline(std::uint64_t id) {
    auto i = std::find_if(st_.waiters.begin(), st_.waiters.end(),
                          [&](const flush_waiter& w) { return w.id == id; });
    if (i == st_.waiters.end())
      return;
    give_up(*i, "flush deadline passed; " + last_error_text());
    st_.waiters.erase(i);
  }

  void on_shutdown() {
    for (auto& w : st_.waiters)
      give_up(w, "cache '" + cfg_.name + "' is shutting down");
    st_.waiters.clear();
    link_.room_made();
    self_->quit();
  }

  void tick() {
    drain();
    arm_tick();
  }

  void arm_tick() { self_->delayed_send(self_, cfg_.write_interval, housekeep_atom::value); }

private:
  /// Up to write_batch_size dirty entries, as the bytes the store will get.
  std::vector<store_record> collect() {
    std::vector<store_record> records;
    auto items = core_.table.take_dirty(cfg_.write_batch_size);
    detail::epoch_guard guard;
    for (auto& item : items) {
      const entry* e = core_.table.find_exact(item.key);
      if (e == nullptr || !e->dirty || e->kind != entry_kind::value)
        continue;
      store_record rec{std::move(item.key), {}, e->version};
      std::string err;
      try {
        if (!core_.ops.encode(*e, rec.value))
          err = "value type has no corral::codec";
      } catch (const std::exception& ex) {
        err = std::string{"codec failed: "} + ex.what();
      } catch (...) {
        err = "codec threw a non-standard exception";
      }
      if (err.empty()) {
        records.push_back(std::move(rec));
        continue;
      }
      // It can never be written: dead-letter it now, like a fatal store error.
      batch_report r;
      r.dead.push_back({std::move(rec), err});
      if (link_.hooks.dead_letter) {
        try {
          link_.hooks.dead_letter(r.dead.back().record, err);
        } catch (...) {
        }
      }
      if (link_.hooks.log) {
        try {
          link_.hooks.log(write_log_level::warn,
                          "dead-lettered '" + r.dead.back().record.key + "': " + err);
        } catch (...) { // a logging hook must not change what happens to the data
        }
      }
      core_.table.mark_clean(r.dead.back().record.key, r.dead.back().record.version);
      core_.count(counter::dead_letters);
      settle(r);
    }
    return records;
  }

  /// Merges the store-owned fields of a written item (as stored: generated fields included)
  /// into the cached value, if still there. The merged value keeps the cached entry's version
  /// and dirty mark, and replaces it only if no newer put came meanwhile (republish).
  void merge_back(const store_record& rec) {
    if (!link_.merge_back)
      return;
    detail::epoch_guard guard;
    const entry* e = core_.table.find_exact(rec.key);
    if (e == nullptr || e->kind != entry_kind::value)
      return;
    try {
      auto merged = link_.merge_back(*e, rec.value);
      core_.table.republish(rec.key, merged, e->version);
    } catch (...) { // the store has the item; only the cached copy lacks the merged fields
    }
  }

  void settle(const batch_report& report) {
    for (auto i = st_.waiters.begin(); i != st_.waiters.end();) {
      auto& w = *i;
      for (auto& rec : report.written) {
        auto p = w.pending.find(rec.key);
        if (p != w.pending.end() && p->second <= rec.version) {
          w.pending.erase(p);
          ++w.result.written;
        }
      }
      for (auto& dead : report.dead) {
        auto p = w.pending.find(dead.record.key);
        if (p != w.pending.end() && p->second <= dead.record.version) {
          w.pending.erase(p);
          w.result.failed.push_back(dead);
        }
      }
      if (report.retry)
        w.result.error = report.error;
      if (w.pending.empty()) {
        w.result.complete = true;
        w.ticket->done.set_value(std::move(w.result));
        i = st_.waiters.erase(i);
      } else {
        ++i;
      }
    }
  }

  /// Nothing dirty is left: any waiter still pending had its keys cleaned otherwise (cannot
  /// happen in practice, but a waiter must never hang on a key that is no longer dirty).
  void settle_empty() {
    for (auto& w : st_.waiters) {
      w.result.complete = true;
      w.ticket->done.set_value(std::move(w.result));
    }
    st_.waiters.clear();
  }

  void give_up(flush_waiter& w, const std::string& why) {
    w.result.complete = false;
    w.result.unwritten = w.pending.size();
    w.result.error = why;
    w.ticket->done.set_value(std::move(w.result));
  }

  std::string last_error_text() const {
    return st_.last_error.empty() ? "the store has not failed" : "last error: " + st_.last_error;
  }

  void arm_retry(time_point now) {
    if (st_.retry_armed)
      return;
    st_.retry_armed = true;
    self_->delayed_send(self_, st_.backoff_until - now, drain_atom::value);
  }

  self_ptr self_;
  writer_state& st_;
  cache_core& core_;
  write_behind_link& link_;
  const cache_config& cfg_;
};

writer_actor::behavior_type writer_impl(self_ptr self, cache_core_ptr core) {
  self->state.core = std::move(core);
  writer_logic{self}.arm_tick(); // the first drain one interval after the cache starts
  return {
      [self](drain_atom) {
        self->state.retry_armed = false;
        writer_logic{self}.drain();
      },
      [self](housekeep_atom) { writer_logic{self}.tick(); },
      [self](write_done_msg& msg) { writer_logic{self}.on_done(*msg.report); },
      [self](flush_msg& msg) { writer_logic{self}.on_flush(std::move(msg.ticket)); },
      [self](deadline_atom, std::uint64_t id) { writer_logic{self}.on_deadline(id); },
      [self](shutdown_atom) { writer_logic{self}.on_shutdown(); },
  };
}

} // namespace

flush_result flush_write_behind(const cache_core& core, duration timeout) {
  auto ticket = std::make_shared<flush_ticket>();
  ticket->deadline = saturating_add(core.now(), timeout);
  auto answer = ticket->done.get_future();
  core.post_to(core.writer_address(), flush_msg{std::move(ticket)});
  try {
    return answer.get(); // the writer answers by the deadline, or drops the ticket on shutdown
  } catch (const std::future_error&) {
    flush_result r;
    r.error = "cache '" + core.cfg.name + "' is shutting down";
    return r;
  }
}

writer_actor spawn_writer(caf::actor_system& sys, const cache_core_ptr& core) {
  auto handle = sys.spawn(writer_impl, core);
  core->writer = handle;
  return handle;
}

} // namespace corral
