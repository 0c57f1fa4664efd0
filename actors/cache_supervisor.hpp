// One supervisor per named cache: routes requests to key actors (spawning them on demand),
// passivates idle ones after idle_timeout, keeps resident actors under max_resident_actors, and
// prunes the entry table toward max_entries with a sampled-LRU policy.
#pragma once

#include <caf/actor_system.hpp>

#include "messages/cache_messages.hpp"
#include "runtime/cache_core.hpp"

namespace corral {

/// Spawns the supervisor of `core` and stores its handle in core->supervisor.
supervisor_actor spawn_cache_supervisor(caf::actor_system& sys, const cache_core_ptr& core);

} // namespace corral
