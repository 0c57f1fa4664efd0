#include "runtime/executor.hpp"

namespace corral {

thread_pool::thread_pool(std::size_t threads) {
  if (threads == 0)
    threads = 1;
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    workers_.emplace_back(&thread_pool::work, st_);
}

thread_pool::~thread_pool() {
  stop(std::chrono::milliseconds{5000});
}

bool thread_pool::submit(job j) {
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping)
      return false;
    st_->jobs.push_back(std::move(j));
  }
  st_->cv.notify_one();
  return true;
}

std::size_t thread_pool::queued() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->jobs.size();
}

std::size_t thread_pool::running() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->running;
}

void thread_pool::work(std::shared_ptr<state> st) {
  std::unique_lock<std::mutex> lock{st->mtx};
  for (;;) {
    st->cv.wait(lock, [&] { return st->stopping || !st->jobs.empty(); });
    if (st->stopping)
      break;
    auto j = std::move(st->jobs.front());
    st->jobs.pop_front();
    ++st->running;
    lock.unlock();
    j(); // jobs catch their own exceptions (see the key actor's load job)
    j = nullptr;
    lock.lock();
    --st->running;
    st->idle_cv.notify_all();
  }
}

std::size_t thread_pool::stop(std::chrono::milliseconds grace) {
  std::deque<job> dropped;
  std::size_t stuck = 0;
  {
    std::unique_lock<std::mutex> lock{st_->mtx};
    if (workers_.empty())
      return 0;
    st_->stopping = true;
    dropped.swap(st_->jobs);
    st_->cv.notify_all();
    st_->idle_cv.wait_for(lock, grace, [&] { return st_->running == 0; });
    stuck = st_->running;
  }
  dropped.clear(); // destroying a job answers its waiters (reply tokens)
  for (auto& w : workers_) {
    if (stuck > 0)
      w.detach(); // a hung loader: leave it rather than hang shutdown
    else
      w.join();
  }
  workers_.clear();
  return stuck;
}

bool manual_executor::submit(job j) {
  std::lock_guard<std::mutex> guard{mtx_};
  jobs_.push_back(std::move(j));
  return true;
}

std::size_t manual_executor::queued() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return jobs_.size();
}

bool manual_executor::run_one() {
  job j;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (jobs_.empty())
      return false;
    j = std::move(jobs_.front());
    jobs_.pop_front();
  }
  j();
  return true;
}

std::size_t manual_executor::run_all() {
  std::size_t n = 0;
  while (run_one())
    ++n;
  return n;
}

} // namespace corral
