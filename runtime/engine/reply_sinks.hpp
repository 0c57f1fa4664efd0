// Typed receivers of a key actor's answer: a blocked thread, a std::future, or a callback.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>

#include <corral/runtime/engine/reply.hpp>
#include <corral/runtime/result.hpp>

namespace corral {

/// The requester's copy of an outcome. Never throws: deliver() is noexcept, so a value whose
/// copy throws (bad_alloc, a throwing copy constructor) becomes an error for that requester.
template <class V> result<V> to_result(const outcome& o) noexcept {
  try {
    if (o.value != nullptr)
      return static_cast<const value_entry<V>*>(o.value)->value;
    return o.err;
  } catch (const std::exception& ex) {
    return error{errc::load_failed, std::string{"copying the value failed: "} + ex.what()};
  } catch (...) {
    return error{errc::load_failed, "copying the value failed"};
  }
}

/// A thread waiting in cache<V>::get.
template <class V> class blocking_sink final : public reply_sink {
public:
  void deliver(const outcome& o) noexcept override {
    auto r = to_result<V>(o); // copy the value while the entry is guaranteed alive
    std::lock_guard<std::mutex> guard{mtx_};
    result_.emplace(std::move(r));
    cv_.notify_all();
  }

  /// Waits for the answer until `give_up_at`; nullopt when it has not come by then.
  std::optional<result<V>> wait(time_point give_up_at) {
    std::unique_lock<std::mutex> lock{mtx_};
    if (give_up_at == time_point::max())
      cv_.wait(lock, [this] { return result_.has_value(); });
    else if (!cv_.wait_until(lock, give_up_at, [this] { return result_.has_value(); }))
      return std::nullopt;
    return std::move(result_);
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<result<V>> result_;
};

/// A std::future handed to the caller of get_async.
template <class V> class promise_sink final : public reply_sink {
public:
  std::future<result<V>> future() { return promise_.get_future(); }
  void deliver(const outcome& o) noexcept override { promise_.set_value(to_result<V>(o)); }

private:
  std::promise<result<V>> promise_;
};

/// A callback, run on the key actor's thread (never a loader's): it must be quick and must not
/// block.
template <class V> class callback_sink final : public reply_sink {
public:
  explicit callback_sink(std::function<void(result<V>)> f) : f_(std::move(f)) {}
  bool quick_to_deliver() const noexcept override { return false; }
  void deliver(const outcome& o) noexcept override {
    try {
      f_(to_result<V>(o));
    } catch (...) {
      // A throwing user callback must not take the key actor down with it.
    }
  }

private:
  std::function<void(result<V>)> f_;
};

} // namespace corral
