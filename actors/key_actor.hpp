// The owner of one active key: single-flight loads, TTL and negative caching, stale serving,
// error backoff, load timeouts and per-request deadlines. Exists only while the key is active:
// requesters find or spawn it through the cache's key registry, and once it is idle it reports
// so there; the supervisor then passivates it after idle_timeout (the entry stays in the table).
#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

/// Spawns the actor of `key` (whose entry_table::hash_key is `hash`). Lazily: it is scheduled
/// for the first time by the message it is spawned for, not once for the spawn and again for it.
key_actor spawn_key_actor(caf::actor_system& sys, cache_core_ptr core, std::string key,
                          std::size_t hash);

} // namespace corral
