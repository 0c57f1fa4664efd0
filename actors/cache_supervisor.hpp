// One supervisor per named cache: serves the cache's message interface, passivates key actors
// idle for idle_timeout, reclaims expired entries (runtime/engine/expiry_sweep.hpp), evicts what
// inserting threads could not toward max_entries and max_weight (the backstop of
// runtime/engine/eviction_policy.hpp), and stops the cache's actors at shutdown. Misses from
// handles never pass through it: they find the key's actor in the key registry
// (runtime/engine/key_registry.hpp).
#pragma once

#include <caf/actor_system.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

/// Spawns the supervisor of `core` and stores its handle in core->supervisor.
supervisor_actor spawn_cache_supervisor(caf::actor_system& sys, const cache_core_ptr& core);

} // namespace corral
