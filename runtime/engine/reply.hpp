// How a key actor answers a requester that is not a CAF actor (a thread blocked in get(), a
// future, a callback). A reply_token guarantees exactly one answer (see docs/design.md, "Every
// waiter gets exactly one reply"): the first deliver() wins, and a token destroyed unanswered
// (its message dropped at shutdown, its actor gone) answers "shutting down" from its
// destructor.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <corral/runtime/engine/counters.hpp>
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/error.hpp>

namespace corral {

/// What a waiter receives. `value` points into an entry that is only guaranteed to live for the
/// duration of the deliver() call: sinks copy what they need.
struct outcome {
  const entry* value = nullptr; // set when the request succeeded (possibly stale)
  bool stale = false;
  error err; // set when value == nullptr (not_found, timeout, load_failed, ...)

  static outcome of(const entry* e, bool stale = false) { return {e, stale, {}}; }
  static outcome failed(errc code, std::string message) {
    return {nullptr, false, {code, std::move(message)}};
  }
};

class reply_sink {
public:
  virtual ~reply_sink() = default;
  virtual void deliver(const outcome& o) noexcept = 0;
  /// Whether a loader thread may deliver (key_actor.cpp's lead shortcut): false for sinks that
  /// run user code, which must not hold a loader thread nor delay the load's other waiters.
  virtual bool quick_to_deliver() const noexcept { return true; }
};

class reply_token {
public:
  reply_token(std::shared_ptr<reply_sink> sink, std::string key)
      : sink_(std::move(sink)), key_(std::move(key)) {}

  /// A token that counts its "shutting down" answer as an error in `counters`, which `owner`
  /// keeps alive (every request is counted exactly once, also when its message is dropped).
  reply_token(std::shared_ptr<reply_sink> sink, std::string key, std::shared_ptr<const void> owner,
              thread_counters* counters)
      : sink_(std::move(sink)), key_(std::move(key)), owner_(std::move(owner)),
        counters_(counters) {}
  /// See reply_sink::quick_to_deliver.
  bool quick_to_deliver() const noexcept { return sink_->quick_to_deliver(); }

  ~reply_token() {
    if (answered_.exchange(true))
      return;
    if (counters_ != nullptr)
      counters_->add(counter::errors);
    outcome o;
    o.err.code = errc::shutting_down;
    try {
      o.err.message = "request for key '" + key_ + "' dropped: runtime stopping";
    } catch (...) {
      // Out of memory in a destructor: the code alone still answers the requester.
    }
    sink_->deliver(o);
  }
  reply_token(const reply_token&) = delete;
  reply_token& operator=(const reply_token&) = delete;

  /// Answers the requester unless it was answered already, counting the request as `c` in
  /// `counters` when this call is the one that answers. Claimed first, then counted, then
  /// delivered: a request answered twice (its requester gave up while its key actor answered)
  /// is counted once, and a requester woken by the answer finds itself already counted.
  /// Returns whether this call answered.
  bool deliver(const outcome& o, thread_counters& counters, counter c) noexcept {
    if (answered_.exchange(true))
      return false;
    counters.add(c);
    sink_->deliver(o);
    return true;
  }
  bool answered() const noexcept { return answered_.load(); }
  const std::string& key() const noexcept { return key_; }

private:
  std::shared_ptr<reply_sink> sink_;
  std::string key_;
  std::shared_ptr<const void> owner_;
  thread_counters* counters_ = nullptr;
  std::atomic<bool> answered_{false};
};

using reply_token_ptr = std::shared_ptr<reply_token>;

} // namespace corral
