// One cache's share of the loader pool. Every job a cache submits (loads, background
// refreshes, batch loads, tier-1 work) passes through its bulkhead: at most `max_running` of
// them are on the pool at once, later ones wait in the bulkhead's own FIFO (at most
// `max_queued`), and beyond that a job is refused. A cache whose loaders hang therefore holds at
// most max_running pool threads however many keys it is asked for; the pool (thread_pool, which
// grows while every thread is busy) always has threads for the other caches.
//
// A running job keeps its slot until it returns, also after its waiters gave up on it
// (load_timeout): an abandoned load still holds a thread, and the bulkhead is where that shows
// (as saturation: running == max_running, a growing queue).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include <corral/runtime/engine/executor.hpp>

namespace corral {

class bulkhead {
public:
  enum class admission {
    accepted,   // running or queued: it will run unless the runtime stops first
    overloaded, // the queue is full: the job was dropped (destroyed) here
    stopped,    // the pool or the bulkhead was stopped: the job was dropped here
  };

  /// `max_running` 0 = no bound of its own (only the pool's); `max_queued` 0 = no queue bound.
  /// `pool` must stay alive until close() returns. A job that returns hands its slot, and its
  /// pool thread, to the oldest waiting job.
  bulkhead(executor& pool, std::size_t max_running, std::size_t max_queued);
  ~bulkhead();
  bulkhead(const bulkhead&) = delete;
  bulkhead& operator=(const bulkhead&) = delete;

  admission submit(executor::job j);

  /// Jobs on the pool now (queued there or running), including abandoned ones still running.
  std::size_t running() const;
  /// Jobs waiting in this bulkhead's queue for a slot.
  std::size_t queued() const noexcept { return st_->queued_now.load(std::memory_order_relaxed); }
  std::size_t max_running() const noexcept { return st_->max_running; }
  std::size_t max_queued() const noexcept { return st_->max_queued; }

  /// Refuses new jobs and drops the queued ones (destroying a job answers its waiters). After
  /// this returns the bulkhead never touches the pool again, so the pool may be destroyed while
  /// a detached job is still running.
  void close();

private:
  // Shared with the jobs on the pool: a job stuck past shutdown still finds its bulkhead.
  struct state {
    state(executor& p, std::size_t running_bound, std::size_t queue_bound)
        : pool(&p), max_running(running_bound), max_queued(queue_bound) {}
    mutable std::mutex mtx;
    executor* pool; // null once closed
    const std::size_t max_running;
    const std::size_t max_queued;
    std::size_t running = 0;
    std::deque<executor::job> waiting;
    std::atomic<std::size_t> queued_now{0}; // waiting.size(), readable without the lock
  };
  /// Puts `j` on the pool, wrapped so that its slot passes on when it returns. Lock held.
  static bool start_locked(const std::shared_ptr<state>& st, executor::job j);
  /// A job returned: hands the oldest waiting one to the same slot (true), or frees the slot.
  static bool take_next(const std::shared_ptr<state>& st, executor::job& next);

  std::shared_ptr<state> st_;
};

} // namespace corral
