// The metrics actor: once per cycle it closes every cache's current window (see
// runtime/metrics/metrics_store.hpp) and hands each cache's snapshot to the per-cycle callback.
#pragma once

#include <functional>
#include <vector>

#include <caf/actor_system.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

/// Registers a cache with the metrics actor (in-process only).
struct watch_cache_msg {
  cache_core_ptr core;
};

} // namespace corral

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::watch_cache_msg)

namespace corral {

using metrics_actor =
    caf::typed_actor<caf::reacts_to<watch_cache_msg>, caf::reacts_to<fold_atom>,
                     caf::replies_to<metrics_atom>::with<std::vector<metrics_snapshot>>,
                     caf::reacts_to<shutdown_atom>>;

metrics_actor spawn_metrics_actor(caf::actor_system& sys, duration cycle,
                                  metrics_callback on_cycle);

} // namespace corral
