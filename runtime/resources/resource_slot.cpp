#include <corral/runtime/resources/resource_slot.hpp>

namespace corral {

std::optional<error> resource_slot::closed_error() const {
  if (!closed_.load(std::memory_order_acquire))
    return std::nullopt;
  std::lock_guard<std::mutex> guard{mtx_};
  return close_reason_;
}

error resource_slot::not_loaded_error() const {
  std::string message = "resource '" + name_ + "' is not loaded yet";
  std::lock_guard<std::mutex> guard{mtx_};
  if (!last_error_.empty())
    message += " (last attempt failed: " + last_error_ + ")";
  return {errc::not_loaded, message};
}

std::shared_ptr<const void> resource_slot::wait_for(duration timeout, error& err) const {
  auto deadline = saturating_add(clock_type::now(), timeout);
  {
    std::unique_lock<std::mutex> lock{mtx_};
    // publish() and close() change state under the mutex, so no wake-up is lost.
    auto done = [&] { return closed_.load() || std::atomic_load(&value_) != nullptr; };
    if (deadline == time_point::max())
      cv_.wait(lock, done);
    else
      cv_.wait_until(lock, deadline, done);
    if (closed_.load()) {
      err = close_reason_;
      return nullptr;
    }
  }
  if (auto v = value())
    return v;
  err = not_loaded_error();
  err.message +=
      " after waiting " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
      " ms";
  return nullptr;
}

resource_status resource_slot::status() const {
  resource_status s;
  s.name = name_;
  s.loaded = value() != nullptr;
  s.loads = loads_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.consecutive_failures = consecutive_failures_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  s.last_error = last_error_;
  s.last_success = last_success_;
  s.loading_since = loading_since_;
  return s;
}

void resource_slot::load_started(time_point now) {
  loads_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  loading_since_ = now;
}

void resource_slot::load_ended() {
  std::lock_guard<std::mutex> guard{mtx_};
  loading_since_.reset();
}

void resource_slot::publish(std::shared_ptr<const void> v) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    std::atomic_store(&value_, std::move(v));
  }
  cv_.notify_all();
}

void resource_slot::load_succeeded(time_point now) {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_.clear();
  last_success_ = now;
}

void resource_slot::load_failed(const std::string& message, bool timed_out) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
  if (timed_out)
    timeouts_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_ = message;
}

void resource_slot::close(error why) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_.load())
      return;
    close_reason_ = std::move(why);
    closed_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

} // namespace corral
