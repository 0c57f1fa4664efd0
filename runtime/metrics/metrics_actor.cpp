#include <corral/runtime/metrics/metrics_actor.hpp>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace corral {

namespace {

struct metrics_state {
  static inline const char* name = "corral.metrics";
  std::vector<cache_core_ptr> caches;
  duration cycle{};
  metrics_callback on_cycle;
};

using self_ptr = metrics_actor::stateful_pointer<metrics_state>;

void fold_all(self_ptr self) {
  for (auto& core : self->state.caches) {
    core->windows.fold(core->metrics);
    if (self->state.on_cycle) {
      try {
        self->state.on_cycle(core->metrics_now());
      } catch (...) {
        // A throwing user callback must not stop the metrics of every cache.
      }
    }
  }
}

metrics_actor::behavior_type metrics_impl(self_ptr self, duration cycle, metrics_callback cb) {
  self->state.cycle = std::max<duration>(cycle, std::chrono::milliseconds(1));
  self->state.on_cycle = std::move(cb);
  self->delayed_send(self, self->state.cycle, fold_atom::value);
  return {
      [self](watch_cache_msg& msg) { self->state.caches.push_back(std::move(msg.core)); },
      [self](fold_atom) {
        fold_all(self);
        self->delayed_send(self, self->state.cycle, fold_atom::value);
      },
      [self](metrics_atom) {
        std::vector<metrics_snapshot> out;
        for (auto& core : self->state.caches)
          out.push_back(core->metrics_now());
        return out;
      },
      [self](shutdown_atom) {
        self->state.caches.clear();
        self->quit();
      },
  };
}

} // namespace

metrics_actor spawn_metrics_actor(caf::actor_system& sys, duration cycle,
                                  metrics_callback on_cycle) {
  return sys.spawn(metrics_impl, cycle, std::move(on_cycle));
}

} // namespace corral
