// Where loaders run: never on CAF's scheduler threads (see docs/design.md, "Actors never block"),
// because loaders are user code that may block. The runtime uses a bounded thread pool;
// message-level tests use a manual executor so that they decide when a load completes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace corral {

class executor {
public:
  using job = std::function<void()>;
  virtual ~executor() = default;
  /// Queues `j`; returns false when the executor is stopped (the job is dropped).
  virtual bool submit(job j) = 0;
  /// Jobs queued and not yet started.
  virtual std::size_t queued() const = 0;
  /// Jobs running now.
  virtual std::size_t running() const = 0;
};

/// Worker threads sharing one FIFO queue. `warm_threads` start at once and stay; while every
/// thread is busy, a submitted job starts another one, up to `max_threads`; such extra threads
/// exit after `keep_alive` without work. A job never waits behind busy threads while the pool
/// may still grow, so a cache whose loaders hang (each cache bounded by its bulkhead,
/// runtime/engine/bulkhead.hpp) cannot take the threads the other caches need.
class thread_pool final : public executor {
public:
  /// `max_threads` below `warm_threads` (0 by default) means a fixed pool of `warm_threads`.
  explicit thread_pool(std::size_t warm_threads, std::size_t max_threads = 0,
                       std::chrono::milliseconds keep_alive = std::chrono::seconds(10));
  ~thread_pool() override;

  /// Queues `j`; starts a thread for it when no thread is idle and the pool may grow. When a
  /// thread cannot be started (the system's thread limit) the job waits for a busy one.
  bool submit(job j) override;
  std::size_t queued() const override;
  std::size_t running() const override;
  /// Threads alive now (warm ones included).
  std::size_t threads() const;
  /// Threads the pool may grow to.
  std::size_t max_threads() const noexcept {
    return st_->max_threads.load(std::memory_order_relaxed);
  }
  /// Raises the cap to `n` (never lowers it): the runtime grows it as caches, each with its own
  /// bulkhead, are added.
  void raise_max_threads(std::size_t n) noexcept;

  /// Stops accepting jobs, drops queued ones and waits up to `grace` for running jobs.
  /// Workers still stuck in a job after that are detached (they exit when the job returns).
  /// Returns the number of workers that had to be detached.
  std::size_t stop(std::chrono::milliseconds grace);

private:
  // Shared with the workers so that a worker detached while stuck in a hung loader can still
  // finish safely after the pool is gone.
  struct state {
    state(std::size_t warm, std::size_t max, std::chrono::milliseconds idle)
        : warm_threads(warm), max_threads(max), keep_alive(idle) {}
    const std::size_t warm_threads;
    std::atomic<std::size_t> max_threads; // only raised (raise_max_threads)
    const std::chrono::milliseconds keep_alive;
    std::mutex mtx;
    std::condition_variable cv;
    std::condition_variable idle_cv;
    std::deque<job> jobs;
    std::size_t running = 0;
    std::size_t idle = 0; // workers waiting for a job
    std::size_t alive = 0;
    /// Extra workers that exited after keep_alive: joined by the next submit that grows.
    std::vector<std::thread::id> exited;
    bool stopping = false;
  };
  static void work(std::shared_ptr<state> st);
  /// Starts one worker; false when the system refuses a new thread. Lock held.
  bool start_worker_locked();
  /// Takes the threads of exited workers out of workers_, to be joined without the lock.
  std::vector<std::thread> take_exited_locked();

  std::shared_ptr<state> st_;
  std::vector<std::thread> workers_; // guarded by st_->mtx
};

/// Runs jobs only when asked, on the calling thread (deterministic tests).
class manual_executor final : public executor {
public:
  bool submit(job j) override;
  std::size_t queued() const override;
  std::size_t running() const override { return 0; }

  /// Runs the oldest queued job; returns false when there is none.
  bool run_one();
  /// Runs jobs until the queue is empty; returns how many ran.
  std::size_t run_all();

private:
  mutable std::mutex mtx_;
  std::deque<job> jobs_;
};

} // namespace corral
