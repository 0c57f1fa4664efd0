// One batcher per cache with a batch loader. Key actors hand it their loads (misses and due
// refreshes alike); it groups those that arrive within `batch_window` of the first into one
// batch-loader call, or calls at once when `batch_size` keys are waiting, and returns each key's
// outcome to its key actor as an ordinary load_done_msg. Single-flight, timeouts and backoff
// stay per key, in the key actors.
#pragma once

#include "messages/cache_messages.hpp"
#include "runtime/cache_core.hpp"

namespace corral {

/// Spawns the batcher of `core` (as a child of `parent`) and stores its handle in core->batcher.
batcher_actor spawn_batcher(caf::local_actor* parent, const cache_core_ptr& core);

} // namespace corral
