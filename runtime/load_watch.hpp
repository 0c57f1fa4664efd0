// The loads of one cache that may still pass load_timeout, in the order they started.
//
// A CAF timer per load put one event on the clock thread per miss (a wake-up of that thread,
// and an entry holding a strong reference to the key actor for load_timeout after the load was
// long done: one million of them to drop at shutdown after a million cold misses). Since every
// load of a cache has the same timeout, deadlines come in start order: a FIFO whose head is the
// next to expire, and one CAF timer per cache (armed by whoever adds to an unarmed watch, re-armed
// by the supervisor for the new head) covers them all. Loads that finish leave their entry
// marked; finished entries at the head are dropped as new loads arrive, so the queue holds about
// the loads in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_addr.hpp>

#include "runtime/entry.hpp"

namespace corral {

/// Shared by a key actor and the job running its load.
struct load_flags {
  /// Set by the key actor when it gives up (load_timeout): a job not started yet skips the loader.
  std::atomic<bool> abandoned{false};
  /// Set by the job once the loader returned: the watch need not time it out.
  std::atomic<bool> finished{false};
};

class load_watch {
public:
  struct expired {
    caf::actor_addr owner; // the key actor
    std::uint64_t load_id;
  };

  /// Watches a load of `owner` that times out at `deadline`. Returns true when the watch had no
  /// timer armed: the caller arms one (a load_check message to the supervisor at `deadline`).
  bool add(time_point deadline, caf::actor_addr owner, std::uint64_t load_id,
           std::shared_ptr<const load_flags> flags);

  /// Removes the loads whose deadline is at or before `now` and returns those still running.
  /// `next` is the deadline of the oldest load left (time_point::max() when none): the caller
  /// arms a timer for it unless it is max, and the watch counts as armed meanwhile.
  std::vector<expired> take_expired(time_point now, time_point& next);

  std::size_t size() const;

private:
  struct watched {
    time_point deadline;
    caf::actor_addr owner;
    std::uint64_t load_id;
    std::shared_ptr<const load_flags> flags;
  };
  void drop_finished_head();

  mutable std::mutex mtx_;
  std::deque<watched> loads_;
  bool armed_ = false;
};

} // namespace corral
