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

#include <corral/runtime/engine/entry.hpp>

namespace corral {

/// Shared by a key actor and the job running its load.
///
/// A load abandoned while its loader runs is counted once (abandoned_loads) and holds the gauge
/// abandoned_running up until the loader returns. Both sides race for `abandon_claimed`: the
/// key actor claims it only if the loader is running, the job claims it on return; whoever is
/// second knows the first was there. So the gauge is raised and lowered in pairs, and a loader
/// that returns just as it is abandoned is not counted at all.
struct load_flags {
  /// Set by the key actor when it gives up (load_timeout): a job not started yet skips the loader.
  std::atomic<bool> abandoned{false};
  /// Set by the job once the loader returned: the watch need not time it out.
  std::atomic<bool> finished{false};
  /// Set by the job when it starts, before it reads `abandoned`.
  std::atomic<bool> started{false};
  std::atomic<bool> abandon_claimed{false};

  /// The job starts; false when the load was abandoned already (skip the loader).
  bool begin() noexcept {
    started.store(true);
    return !abandoned.load();
  }
  /// The key actor gives up on the load. True when its loader is running now: the caller counts
  /// one abandoned load and keeps abandoned_running raised (finish() lowers it). The caller
  /// raises the gauge before calling and lowers it again on false, so that it never dips below 0.
  bool abandon() noexcept {
    abandoned.store(true);
    return started.load() && !finished.load() && !abandon_claimed.exchange(true);
  }
  /// The job returned. True when abandon() counted it as running: lower abandoned_running.
  bool finish() noexcept {
    finished.store(true);
    return abandoned.load() && abandon_claimed.exchange(true);
  }
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
