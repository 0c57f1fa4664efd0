// One writer per write-behind cache. It drains dirty entries to the store every write_interval,
// or at once when write_batch_size are dirty, one batch (transaction) at a time, on the cache's
// writer thread (store/write_batch.hpp has what becomes of each item). After a commit an
// entry stops being dirty only if no newer put came meanwhile. A failed batch stays dirty and
// is retried after write_retry, doubling up to write_retry_max. flush() is a barrier.
#pragma once

#include <future>
#include <memory>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/cache_core.hpp>
#include <corral/store/write_behind.hpp>

namespace corral {

/// A flush() in progress: answered once with what became of everything dirty at the call.
struct flush_ticket {
  std::promise<flush_result> done;
  time_point deadline = time_point::max();
};

/// Spawns the writer of `core` and stores its handle in core->writer (before the cache's
/// supervisor, which stops it on shutdown).
writer_actor spawn_writer(caf::actor_system& sys, const cache_core_ptr& core);

/// Asks the writer to flush and waits for its answer (at most until the ticket's deadline,
/// which the writer enforces). Any thread but the writer's own.
flush_result flush_write_behind(const cache_core& core, duration timeout);

} // namespace corral
