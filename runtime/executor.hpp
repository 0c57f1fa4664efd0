// Where loaders run: never on CAF's scheduler threads (principle 3), because loaders are user
// code that may block. The runtime uses a bounded thread pool; message-level tests use a manual
// executor so that they decide when a load completes.
#pragma once

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

/// A fixed number of worker threads sharing one FIFO queue.
class thread_pool final : public executor {
public:
  explicit thread_pool(std::size_t threads);
  ~thread_pool() override;

  bool submit(job j) override;
  std::size_t queued() const override;
  std::size_t running() const override;

  /// Stops accepting jobs, drops queued ones and waits up to `grace` for running jobs.
  /// Workers still stuck in a job after that are detached (they exit when the job returns).
  /// Returns the number of workers that had to be detached.
  std::size_t stop(std::chrono::milliseconds grace);

private:
  // Shared with the workers so that a worker detached while stuck in a hung loader can still
  // finish safely after the pool is gone.
  struct state {
    std::mutex mtx;
    std::condition_variable cv;
    std::condition_variable idle_cv;
    std::deque<job> jobs;
    std::size_t running = 0;
    bool stopping = false;
  };
  static void work(std::shared_ptr<state> st);

  std::shared_ptr<state> st_ = std::make_shared<state>();
  std::vector<std::thread> workers_;
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
