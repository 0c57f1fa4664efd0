#include <corral/runtime/engine/bulkhead.hpp>

#include <utility>

namespace corral {

bulkhead::bulkhead(executor& pool, std::size_t max_running, std::size_t max_queued)
    : st_(std::make_shared<state>(pool, max_running, max_queued)) {}

bulkhead::~bulkhead() {
  close();
}

bool bulkhead::start_locked(const std::shared_ptr<state>& st, executor::job j) {
  ++st->running;
  // The slot stays on this thread while the queue has work: the next job runs here without a
  // trip through the pool's queue (where it would find no idle thread and start another).
  bool ok = st->pool->submit([st, j = std::move(j)]() mutable {
    do {
      j();
      j = nullptr; // may drop the last reference to the cache: `st` is ours, not the cache's
    } while (take_next(st, j));
  });
  if (!ok)
    --st->running; // the pool stopped; the job was destroyed by it
  return ok;
}

bulkhead::admission bulkhead::submit(executor::job j) {
  // A refused `j` is destroyed on return, after the lock is released (its destructor may
  // answer waiters).
  std::lock_guard<std::mutex> guard{st_->mtx};
  if (st_->pool == nullptr)
    return admission::stopped;
  if (st_->max_running == 0 || st_->running < st_->max_running)
    return start_locked(st_, std::move(j)) ? admission::accepted : admission::stopped;
  if (st_->max_queued != 0 && st_->waiting.size() >= st_->max_queued)
    return admission::overloaded;
  st_->waiting.push_back(std::move(j));
  st_->queued_now.store(st_->waiting.size(), std::memory_order_relaxed);
  return admission::accepted;
}

bool bulkhead::take_next(const std::shared_ptr<state>& st, executor::job& next) {
  std::lock_guard<std::mutex> guard{st->mtx};
  if (st->pool == nullptr || st->waiting.empty()) { // closed: close() dropped the queue
    --st->running;
    return false;
  }
  next = std::move(st->waiting.front());
  st->waiting.pop_front();
  st->queued_now.store(st->waiting.size(), std::memory_order_relaxed);
  return true;
}

std::size_t bulkhead::running() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->running;
}

void bulkhead::close() {
  std::deque<executor::job> dropped;
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    st_->pool = nullptr;
    dropped.swap(st_->waiting);
    st_->queued_now.store(0, std::memory_order_relaxed);
  }
}

} // namespace corral
