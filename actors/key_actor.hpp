// The owner of one active key: single-flight loads, TTL and negative caching, stale serving,
// error backoff, load timeouts and per-request deadlines. Exists only while the key is active;
// its supervisor passivates it when idle (the entry stays in the table).
#pragma once

#include <string>

#include "messages/cache_messages.hpp"
#include "runtime/cache_core.hpp"

namespace corral {

key_actor spawn_key_actor(supervisor_actor::pointer parent, cache_core_ptr core, std::string key);

} // namespace corral
