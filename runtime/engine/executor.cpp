#include <corral/runtime/engine/executor.hpp>

#include <algorithm>
#include <system_error>

namespace corral {

thread_pool::thread_pool(std::size_t warm_threads, std::size_t max_threads,
                         std::chrono::milliseconds keep_alive) {
  if (warm_threads == 0)
    warm_threads = 1;
  st_ = std::make_shared<state>(warm_threads, std::max(warm_threads, max_threads), keep_alive);
  std::lock_guard<std::mutex> guard{st_->mtx};
  workers_.reserve(warm_threads);
  for (std::size_t i = 0; i < warm_threads; ++i)
    if (!start_worker_locked())
      throw std::system_error{std::make_error_code(std::errc::resource_unavailable_try_again),
                              "cannot start loader threads"};
}

thread_pool::~thread_pool() {
  stop(std::chrono::milliseconds{5000});
}

bool thread_pool::start_worker_locked() {
  try {
    workers_.emplace_back(&thread_pool::work, st_);
  } catch (const std::system_error&) {
    return false;
  }
  ++st_->alive;
  return true;
}

std::vector<std::thread> thread_pool::take_exited_locked() {
  std::vector<std::thread> done;
  for (auto id : st_->exited) {
    auto i = std::find_if(workers_.begin(), workers_.end(),
                          [&](const std::thread& t) { return t.get_id() == id; });
    if (i != workers_.end()) {
      done.push_back(std::move(*i));
      workers_.erase(i);
    }
  }
  st_->exited.clear();
  return done;
}

void thread_pool::raise_max_threads(std::size_t n) noexcept {
  auto cur = st_->max_threads.load(std::memory_order_relaxed);
  while (cur < n && !st_->max_threads.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
  }
}

bool thread_pool::submit(job j) {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping)
      return false;
    st_->jobs.push_back(std::move(j));
    // More jobs waiting than idle workers to take them: grow instead of queueing behind the
    // busy ones (they may be stuck in a hung loader).
    if (st_->jobs.size() > st_->idle &&
        st_->alive < st_->max_threads.load(std::memory_order_relaxed)) {
      done = take_exited_locked();
      start_worker_locked(); // if the system refuses, the job waits for a busy worker
    }
  }
  st_->cv.notify_one();
  for (auto& t : done)
    t.join(); // they have left their loop already
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

std::size_t thread_pool::threads() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->alive;
}

void thread_pool::work(std::shared_ptr<state> st) {
  std::unique_lock<std::mutex> lock{st->mtx};
  for (;;) {
    ++st->idle;
    bool has_work = true;
    if (st->alive > st->warm_threads)
      has_work =
          st->cv.wait_for(lock, st->keep_alive, [&] { return st->stopping || !st->jobs.empty(); });
    else
      st->cv.wait(lock, [&] { return st->stopping || !st->jobs.empty(); });
    --st->idle;
    if (st->stopping)
      break;
    if (!has_work) {
      if (st->alive > st->warm_threads) { // an extra thread idle for keep_alive: leave
        st->exited.push_back(std::this_thread::get_id());
        break;
      }
      continue;
    }
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
  --st->alive;
  st->idle_cv.notify_all();
}

std::size_t thread_pool::stop(std::chrono::milliseconds grace) {
  std::deque<job> dropped;
  std::size_t stuck = 0;
  std::vector<std::thread> workers;
  {
    std::unique_lock<std::mutex> lock{st_->mtx};
    if (workers_.empty())
      return 0;
    st_->stopping = true;
    dropped.swap(st_->jobs);
    st_->cv.notify_all();
    st_->idle_cv.wait_for(lock, grace, [&] { return st_->running == 0; });
    stuck = st_->running;
    workers.swap(workers_);
  }
  dropped.clear(); // destroying a job answers its waiters (reply tokens)
  for (auto& w : workers) {
    if (stuck > 0)
      w.detach(); // a hung loader: leave it rather than hang shutdown
    else
      w.join();
  }
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
