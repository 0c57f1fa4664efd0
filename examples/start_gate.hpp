// start_gate: holds threads until open(), then releases them all at once, so that requests
// really overlap (a spike, not a queue). Shared by the examples and the tests.
#pragma once

#include <condition_variable>
#include <mutex>

namespace corral::examples {

class start_gate {
public:
  void wait() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

} // namespace corral::examples
