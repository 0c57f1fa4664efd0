// One batcher per cache with a batch loader. Key actors hand it their loads (misses and due
// refreshes alike); it groups those that arrive within `batch_window` of the first into one
// batch-loader call, or calls at once when `batch_size` keys are waiting, and returns each key's
// outcome to its key actor as an ordinary load_done_msg. Single-flight, timeouts and backoff
// stay per key, in the key actors.
#pragma once

#include <caf/actor_system.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

/// Spawns the batcher of `core` (as a child of `parent`) and stores its handle in core->batcher.
/// Spawns the batcher of `core` and stores its handle in core->batcher; called before the
/// cache's first key actor can exist (they may be spawned on any thread right after).
batcher_actor spawn_batcher(caf::actor_system& sys, const cache_core_ptr& core);

} // namespace corral
