// resource_slot: where one resource's current value lives. Readers load it with one atomic
// shared_ptr read (no message, no wait once a value exists); only the resource actor publishes.
// Readers that ask to wait for the first value park on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeinfo>

#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/error.hpp>
#include <corral/runtime/resources/resource_config.hpp> // duration

namespace corral {

/// What a resource has been through, for logs and health checks.
struct resource_status {
  std::string name;
  bool loaded = false;                    // a value exists (get() never waits)
  std::uint64_t loads = 0;                // loader calls started
  std::uint64_t failures = 0;             // loader calls that failed (every one was reported)
  std::uint64_t consecutive_failures = 0; // since the last success; 0 while healthy
  std::string last_error;                 // the last failure's message; "" after a success
  std::uint64_t timeouts = 0;             // failures that were loads past load_timeout
  /// When the last successful load's result arrived (the value is at least this old), on the
  /// runtime's steady clock; empty before the first success.
  std::optional<time_point> last_success;
  /// When the load in flight started; empty when none is (a load past load_timeout no longer
  /// counts, although its loader may still be running).
  std::optional<time_point> loading_since;
};

class resource_slot {
public:
  resource_slot(std::string name, const std::type_info& type)
      : name_(std::move(name)), type_(type) {}

  const std::string& name() const noexcept { return name_; }
  const std::type_info& type() const noexcept { return type_; }

  /// The current value (nullptr before the first one). Never blocks on the owner.
  std::shared_ptr<const void> value() const { return std::atomic_load(&value_); }

  /// Set once the resource is removed or the runtime stops; readers then get this error.
  std::optional<error> closed_error() const;

  /// The error a read before the first value gets: not_loaded, naming the resource and, when
  /// the loader already failed, why.
  error not_loaded_error() const;

  /// Waits up to `timeout` for a value. Returns it, or nullptr with `err` set (not_loaded
  /// after the timeout, or the close reason).
  std::shared_ptr<const void> wait_for(duration timeout, error& err) const;

  resource_status status() const;

  // -- the resource actor only --------------------------------------------------------------
  void load_started(time_point now);
  /// The load in flight finished or was given up (timed out).
  void load_ended();
  void publish(std::shared_ptr<const void> v);
  void load_succeeded(time_point now);
  void load_failed(const std::string& message, bool timed_out);
  /// Answers every waiter with `why` and makes every later read fail with it. Idempotent: the
  /// first reason stays.
  void close(error why);

private:
  const std::string name_;
  const std::type_info& type_;
  std::shared_ptr<const void> value_; // accessed only through std::atomic_load/store
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> loads_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> consecutive_failures_{0};
  std::atomic<std::uint64_t> timeouts_{0};
  mutable std::mutex mtx_; // guards the members below; orders publish with waits
  mutable std::condition_variable cv_;
  error close_reason_;
  std::string last_error_;
  std::optional<time_point> last_success_;
  std::optional<time_point> loading_since_;
};

using resource_slot_ptr = std::shared_ptr<resource_slot>;

} // namespace corral
