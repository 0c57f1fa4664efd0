#include <corral/runtime/resources/resource_actor.hpp>

#include <corral/runtime/engine/log_sink.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <vector>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace corral {

namespace {
thread_local bool in_error_handler = false;
} // namespace

bool inside_resource_error_handler() noexcept {
  return in_error_handler;
}

void resource_error_hook::set(resource_error_handler h) {
  auto fn = std::make_shared<const resource_error_handler>(std::move(h));
  std::lock_guard<std::mutex> guard{mtx_};
  handler_ = std::move(fn);
}

void resource_error_hook::log_to(std::shared_ptr<log_sink> sink) {
  std::lock_guard<std::mutex> guard{mtx_};
  sink_ = std::move(sink);
}

void resource_error_hook::report(const std::string& resource, const error& err) const {
  std::shared_ptr<const resource_error_handler> h;
  std::shared_ptr<log_sink> sink;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    h = handler_;
    sink = sink_;
  }
  // Both the log handler and the error handler run on the resource actor's thread: shutdown()
  // and sync() from either would wait for this very actor, so both run with the flag that makes
  // those calls throw instead of hanging.
  struct flag { // reset even when a handler throws
    flag() { in_error_handler = true; }
    ~flag() { in_error_handler = false; }
  } inside;
  if (sink && sink->enabled(log_level::warning)) {
    // The component names the resource; the message need not say it again.
    std::string_view text = err.message;
    auto prefix = "resource '" + resource + "': ";
    if (text.substr(0, prefix.size()) == prefix)
      text.remove_prefix(prefix.size());
    sink->write(log_level::warning, "resource " + resource, text);
  }
  if (h && *h) {
    try {
      (*h)(resource, err);
    } catch (...) {
      // A throwing handler must not stop the refresh of this or any other resource.
    }
  }
}

void resource_send_gate::post(const caf::actor_addr& dest, resource_loaded_msg msg) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  if (closed_)
    return;
  if (auto strong = caf::actor_cast<resource_actor>(dest))
    caf::anon_send(strong, std::move(msg));
}

void resource_send_gate::close() {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  closed_ = true;
}

namespace {

struct resource_entry {
  resource_config cfg;
  resource_slot_ptr slot;
  erased_resource_loader load;
  std::uint64_t load_id = 0;                    // the load in flight; 0 = none
  std::shared_ptr<std::atomic<bool>> abandoned; // set when load_id times out
  std::uint64_t timer_id = 0;                   // the one tick that counts; older ticks are ignored
  duration backoff{0};                          // the current retry delay; 0 = healthy
  std::uint64_t last_success_id = 0;            // the newest load (by start) that succeeded
  std::vector<std::uint64_t> timed_out;         // loads given up whose result has not come back
  std::vector<std::shared_ptr<sync_ticket>> waiters; // sync rounds waiting for the load
};

struct resource_state {
  static inline const char* name = "corral.resources";
  resource_actor_options opts;
  std::map<std::string, resource_entry> entries;
  bool synced = false;       // a sync() happened: resources added from now on load at once
  std::uint64_t next_id = 0; // load and timer ids; never reused, so a re-added name is safe
  std::mt19937_64 rng{std::random_device{}()};
};

using self_ptr = resource_actor::stateful_pointer<resource_state>;

double draw(self_ptr self) {
  auto& st = self->state;
  if (st.opts.random)
    return st.opts.random();
  return std::uniform_real_distribution<double>(0.0, 1.0)(st.rng);
}

/// interval × (1 ± jitter): the mean stays one refresh per interval.
duration jittered(self_ptr self, const resource_config& cfg) {
  if (cfg.refresh_jitter <= 0.0)
    return cfg.refresh_interval;
  double factor = 1.0 + cfg.refresh_jitter * (2.0 * draw(self) - 1.0);
  auto ns = static_cast<duration::rep>(static_cast<double>(cfg.refresh_interval.count()) * factor);
  return duration{std::max<duration::rep>(ns, 1)};
}

/// Replaces the pending tick (if any) by one `delay` from now.
void arm(self_ptr self, resource_entry& e, duration delay) {
  e.timer_id = ++self->state.next_id;
  self->delayed_send(self, delay, resource_tick_atom::value, e.cfg.name, e.timer_id);
}

void answer_waiters(resource_entry& e, errc code, const std::string& reason) {
  for (auto& ticket : e.waiters)
    ticket->round->complete(e.cfg.name, code, reason);
  e.waiters.clear();
}

void finish(self_ptr self, resource_entry& e, std::uint64_t id, resource_outcome& out);

void start_load(self_ptr self, resource_entry& e) {
  auto id = ++self->state.next_id;
  e.load_id = id;
  e.abandoned = std::make_shared<std::atomic<bool>>(false);
  e.slot->load_started(self->clock().now());
  // Fixed rate: the next refresh is timed from this start, however long the load takes.
  if (e.cfg.refresh_interval.count() > 0)
    arm(self, e, jittered(self, e.cfg));
  auto job = [gate = self->state.opts.gate, me = self->address(), name = e.cfg.name, id,
              abandoned = e.abandoned, load = e.load, previous = e.slot->value()] {
    auto out = std::make_shared<resource_outcome>();
    if (abandoned->load())
      out->error_message = "timed out before it started"; // dropped: the timeout was reported
    else
      *out = load(previous);
    gate->post(me, resource_loaded_msg{name, id, std::move(out)});
  };
  if (!self->state.opts.loaders->submit(std::move(job))) {
    resource_outcome out;
    out.error_message = "the loader pool is stopped";
    e.load_id = 0;
    finish(self, e, id, out);
    return;
  }
  if (e.cfg.load_timeout.count() > 0)
    self->delayed_send(self, e.cfg.load_timeout, resource_load_timeout_atom::value, e.cfg.name, id);
}

void succeed(self_ptr self, resource_entry& e, std::uint64_t id, resource_outcome& out) {
  if (out.value)
    e.slot->publish(std::move(out.value));
  e.slot->load_succeeded(self->clock().now());
  e.last_success_id = id;
  e.backoff = duration::zero(); // the next failure backs off from error_backoff again
}

/// `reason` is the loader's error or the timeout, as status() and sync rounds show it.
void fail(self_ptr self, resource_entry& e, errc code, const std::string& reason) {
  bool timed_out = code == errc::timeout;
  e.slot->load_failed(reason, timed_out);
  bool kept = e.slot->value() != nullptr;
  error err{code, "resource '" + e.cfg.name + "': " + (timed_out ? "" : "load failed: ") + reason +
                      (kept ? " (the last good value is kept)" : "")};
  self->state.opts.on_error->report(e.cfg.name, err);
  if (e.cfg.error_backoff.count() > 0) {
    e.backoff = e.backoff.count() == 0 ? e.cfg.error_backoff
                                       : std::min(e.backoff * 2, e.cfg.error_backoff_max);
    arm(self, e, e.backoff); // replaces the regular tick until a load succeeds
  }
}

void finish(self_ptr self, resource_entry& e, std::uint64_t id, resource_outcome& out) {
  e.slot->load_ended();
  if (out.ok) {
    succeed(self, e, id, out);
    answer_waiters(e, errc::none, {});
    return;
  }
  fail(self, e, errc::load_failed, out.error_message);
  answer_waiters(e, errc::load_failed, out.error_message);
}

/// The result of a load given up after load_timeout (a sync round already heard of it).
void finish_late(self_ptr self, resource_entry& e, std::uint64_t id, resource_outcome& out) {
  auto i = std::find(e.timed_out.begin(), e.timed_out.end(), id);
  if (i == e.timed_out.end())
    return; // not a load of this entry (the name was removed and added again)
  e.timed_out.erase(i);
  if (out.ok && id > e.last_success_id) // else a newer value is already served
    succeed(self, e, id, out);
}

void time_out(self_ptr self, resource_entry& e) {
  e.abandoned->store(true); // a job still queued will not call the loader
  e.timed_out.push_back(e.load_id);
  e.load_id = 0; // the next tick or sync starts a new load
  e.slot->load_ended();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.cfg.load_timeout);
  auto what = "load timed out after " + std::to_string(ms.count()) + " ms";
  fail(self, e, errc::timeout, what);
  answer_waiters(e, errc::timeout, what);
}

void drop(resource_entry& e, const error& why) {
  answer_waiters(e, why.code, why.code == errc::shutting_down ? "shutting down" : "removed");
  e.slot->close(why);
}

resource_actor::behavior_type resource_impl(self_ptr self, resource_actor_options opts) {
  self->state.opts = std::move(opts);
  return {
      [self](add_resource_msg& msg) {
        auto& entries = self->state.entries;
        auto name = msg.cfg.name;
        if (auto old = entries.find(name); old != entries.end()) { // replaced: as if removed
          drop(old->second, {errc::no_such_resource, "resource '" + name + "' was replaced"});
          entries.erase(old);
        }
        auto& e = entries[name];
        e.cfg = std::move(msg.cfg);
        e.slot = std::move(msg.slot);
        e.load = std::move(msg.loader);
        if (self->state.synced)
          start_load(self, e);
      },
      [self](sync_resources_msg& msg) {
        self->state.synced = true;
        auto& round = *msg.ticket->round;
        for (auto& [name, e] : self->state.entries) {
          round.expect(name);
          e.waiters.push_back(msg.ticket);
          if (e.load_id == 0) // a load in flight is joined, never doubled
            start_load(self, e);
        }
        round.arm(); // a load that failed at submit already completed its part
      },
      [self](resource_loaded_msg& msg) {
        auto i = self->state.entries.find(msg.name);
        if (i == self->state.entries.end())
          return; // removed while loading: the result is dropped
        auto& e = i->second;
        if (e.load_id != msg.load_id)
          return finish_late(self, e, msg.load_id, *msg.outcome);
        e.load_id = 0;
        finish(self, e, msg.load_id, *msg.outcome);
      },
      [self](resource_load_timeout_atom, const std::string& name, std::uint64_t load_id) {
        auto i = self->state.entries.find(name);
        if (i != self->state.entries.end() && i->second.load_id == load_id)
          time_out(self, i->second);
      },
      [self](remove_resource_atom, const std::string& name) {
        auto i = self->state.entries.find(name);
        if (i == self->state.entries.end())
          return;
        drop(i->second, {errc::no_such_resource, "resource '" + name + "' was removed"});
        self->state.entries.erase(i); // its timers and load in flight find nothing
      },
      [self](resource_tick_atom, const std::string& name, std::uint64_t timer_id) {
        auto i = self->state.entries.find(name);
        if (i == self->state.entries.end() || i->second.timer_id != timer_id)
          return; // removed, or superseded by a later schedule
        auto& e = i->second;
        if (e.load_id != 0) {
          // The load started one interval ago is still running: skip this round rather than
          // run two loads of one resource at once.
          if (e.cfg.refresh_interval.count() > 0)
            arm(self, e, jittered(self, e.cfg));
          return;
        }
        start_load(self, e);
      },
      [self](shutdown_atom) {
        for (auto& [name, e] : self->state.entries)
          drop(e, {errc::shutting_down, "resource '" + name + "': the runtime is shutting down"});
        self->state.entries.clear();
        self->quit();
      },
  };
}

} // namespace

resource_actor spawn_resource_actor(caf::actor_system& sys, resource_actor_options opts) {
  return sys.spawn(resource_impl, std::move(opts)); // one argument: see test_fixture.hpp
}

} // namespace corral
