#include <corral/actors/cache_supervisor.hpp>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <corral/actors/batcher.hpp>
#include <corral/actors/key_actor.hpp>
#include <corral/runtime/engine/erased_tier.hpp>
#include <corral/runtime/engine/expiry_sweep.hpp>
#include <corral/store/writer_actor.hpp>

namespace corral {

namespace {

struct supervisor_state {
  static inline const char* name = "corral.supervisor";
  cache_core_ptr core;
  std::uint64_t evictions = 0;
  /// invalidate requests waiting for tier 1 to erase the key.
  std::unordered_map<std::uint64_t, caf::typed_response_promise<ok_atom>> invalidations;
  std::uint64_t next_invalidation = 0;
  expiry_sweep sweep; // proactive expiry: where the last pass stopped
};

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

duration housekeeping_period(const cache_config& cfg) {
  auto p = cfg.prune_interval;
  if (cfg.idle_timeout.count() > 0)
    p = std::min(p, cfg.idle_timeout);
  return std::max<duration>(p, std::chrono::milliseconds(1));
}

class supervisor_logic {
public:
  explicit supervisor_logic(self_ptr self) : self_(self), st_(self->state) {}

  void housekeep() {
    if (st_.core->log) // summaries of repeated log events whose window ended
      st_.core->log->flush_due();
    passivate_expired_idle();
    expire();
    prune();
    // Misses no longer pass through here: this is the backlog of CAF clients' requests and
    // housekeeping. Read from the queue the actor has already taken in: mailbox().size() would
    // first fetch the rest through CAF code that UBSan flags (task_queue::back() casts its
    // sentinel node to a mailbox_element when the queue is empty).
    st_.core->metrics.largest_mailbox = self_->mailbox().queue().total_task_size();
    self_->delayed_send(self_, housekeeping_period(st_.core->cfg), housekeep_atom::value);
  }

  /// Tells the key actors whose loads passed load_timeout, and arms the cache's one load timer
  /// for the oldest load left.
  void check_loads() {
    auto now = st_.core->now();
    auto next = time_point::max();
    for (auto& x : st_.core->watched_loads.take_expired(now, next))
      if (auto actor = caf::actor_cast<key_actor>(x.owner))
        self_->send(actor, load_timeout_atom::value, x.load_id);
    if (next != time_point::max())
      self_->delayed_send(self_, next - now, load_check_atom::value);
  }

  cache_status status() const {
    auto& core = *st_.core;
    cache_status s;
    s.cache = core.cfg.name;
    s.entries = core.table.size();
    s.resident_actors = core.keys.resident();
    auto idle = core.keys.idle();
    s.busy_actors = s.resident_actors > idle ? s.resident_actors - idle : 0;
    s.passivations = core.counters.snapshot()[static_cast<std::size_t>(counter::passivations)];
    s.evictions = st_.evictions;
    return s;
  }

  void shutdown() {
    st_.core->closing = true;
    for (auto& kv : st_.invalidations) // still waiting for tier 1: answer them now
      kv.second.deliver(make_caf_error(errc::shutting_down, "invalidate interrupted by shutdown"));
    st_.invalidations.clear();
    st_.core->stop_key_actors();
    if (st_.core->batcher)
      self_->send(st_.core->batcher, shutdown_atom::value);
    if (st_.core->writer)
      self_->send(st_.core->writer, shutdown_atom::value);
    self_->quit();
  }

private:
  /// Reclaims expired entries nobody reads (runtime/engine/expiry_sweep.hpp). The time budget keeps
  /// a wave of expiries from holding this actor's thread for long: a quarter of the period, at most
  /// 25 ms.
  void expire() {
    auto period = housekeeping_period(st_.core->cfg);
    st_.sweep.run(*st_.core, std::min<duration>(period / 4, std::chrono::milliseconds(25)));
  }

  /// Actors idle for idle_timeout go; the registry hands them out oldest first, without a scan.
  void passivate_expired_idle() {
    auto timeout = std::max(st_.core->cfg.idle_timeout, duration::zero()); // 0: at once
    auto now = st_.core->now();
    if (now.time_since_epoch() < timeout)
      return; // nothing can have been idle that long yet (and now - timeout would underflow)
    st_.core->passivate(st_.core->keys.retire_idle_before(now - timeout));
  }

  /// The backstop of max_entries and max_weight: inserting threads keep the bounds
  /// (cache_core::after_publish), but what they could not evict (entries that were dirty or
  /// loading then) is evicted here, by the same policy. Never touches a busy or dirty key.
  void prune() {
    auto& core = *st_.core;
    if (!core.policy.bounded() || !core.policy.over(core.table))
      return;
    st_.evictions += core.enforce_bounds(core.now(), core.table.size());
    // Dirty entries cannot go before they are written: ask the writer not to wait.
    if (core.policy.over(core.table) && core.writer && core.table.dirty_count() > 0)
      self_->send(core.writer, drain_atom::value);
  }

  self_ptr self_;
  supervisor_state& st_;
};

supervisor_actor::behavior_type supervisor_impl(self_ptr self, cache_core_ptr core) {
  self->state.core = std::move(core);
  self->delayed_send(self, housekeeping_period(self->state.core->cfg), housekeep_atom::value);
  return {
      [self](get_atom, const std::string& key) -> caf::result<std::string> {
        auto handle = self->state.core->actor_for(key);
        if (!handle)
          return make_caf_error(errc::shutting_down,
                                "cache '" + self->state.core->cfg.name + "' is shutting down");
        return self->delegate(handle, get_atom::value, key);
      },
      [self](put_atom, const std::string& key, const std::string& bytes) -> caf::result<ok_atom> {
        auto& core = *self->state.core;
        std::string err;
        auto e = core.ops.decode(bytes, err);
        if (!e)
          return make_caf_error(errc::bad_value,
                                "cannot decode value for key '" + key + "': " + err);
        // An actor must not block: a full write-behind backlog fails this put at once.
        if (auto refused = core.put_entry(key, std::move(e), false); refused.code != errc::none)
          return make_caf_error(refused.code, refused.message);
        return ok_atom::value;
      },
      [self](invalidate_atom, const std::string& key) -> caf::result<ok_atom> {
        auto& core = *self->state.core;
        core.count(counter::invalidations);
        if (!core.tier1) {
          core.table.erase(key);
          return ok_atom::value;
        }
        // Tier 1 first, off this actor (it may block); the in-memory entry goes when that is done,
        // so that no load in between can bring the old value back from tier 1.
        auto id = ++self->state.next_invalidation;
        auto promise = self->make_response_promise<ok_atom>();
        self->state.invalidations.emplace(id, promise);
        auto core_ptr = self->state.core;
        auto me = self->address();
        auto admitted = core.submit([core_ptr, key, id, me] {
          try {
            core_ptr->invalidate_both(key);
          } catch (...) {
            // The in-memory entry is dropped regardless; only tier 1 may still hold the key.
          }
          core_ptr->post_to(me, invalidate_atom::value, key, id);
        });
        if (admitted != bulkhead::admission::accepted) {
          // Nothing was erased: dropping only the in-memory entry could let a load bring the
          // old value back from tier 1.
          auto err =
              admitted == bulkhead::admission::overloaded
                  ? core.overloaded_error(key)
                  : error{errc::shutting_down, "cache '" + core.cfg.name + "' is shutting down"};
          promise.deliver(make_caf_error(err.code, err.message));
          self->state.invalidations.erase(id);
        }
        return promise;
      },
      [self](invalidate_atom, const std::string&, std::uint64_t id) {
        auto i = self->state.invalidations.find(id);
        if (i != self->state.invalidations.end()) {
          i->second.deliver(ok_atom::value);
          self->state.invalidations.erase(i);
        }
      },
      [self](status_atom) -> cache_status { return supervisor_logic{self}.status(); },
      [self](metrics_atom) -> metrics_snapshot { return self->state.core->metrics_now(); },
      [self](housekeep_atom) { supervisor_logic{self}.housekeep(); },
      [self](load_check_atom) { supervisor_logic{self}.check_loads(); },
      [self](shutdown_atom) { supervisor_logic{self}.shutdown(); },
  };
}

} // namespace

supervisor_actor spawn_cache_supervisor(caf::actor_system& sys, const cache_core_ptr& core) {
  // Key actors are spawned by whichever thread first asks for their key (key_registry::route).
  // The raw pointer: the registry is a member of the core, which must not own itself.
  core->keys.set_spawner([&sys, raw = core.get()](const std::string& key, std::size_t hash) {
    return spawn_key_actor(sys, raw->shared_from_this(), key, hash);
  });
  // The writer and the batcher exist before this returns: a put or flush right after must find
  // the writer, and a key actor spawned by the first miss (on any thread) the batcher.
  if (core->write_behind)
    spawn_writer(sys, core);
  if (core->batch_loader)
    spawn_batcher(sys, core);
  auto handle = sys.spawn(supervisor_impl, core);
  core->supervisor = handle;
  return handle;
}

} // namespace corral
