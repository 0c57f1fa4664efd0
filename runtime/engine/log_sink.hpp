// The runtime's one log sink: every component reports its events here (cache cores, key
// actors, writers, resources, shutdown), and the sink filters them by level, rate-limits
// repeats and hands what is left to the user's handler (runtime::on_log) or to stderr.
//
// Rate limit: the first event of a (level, component, message) key is passed through and
// opens a window; repeats inside the window are only counted. Once the window has ended, the
// next event of any key (or flush_due() from a cache's housekeeping tick, or flush_all() at
// shutdown) emits one summary "<message> (repeated N times in 10 s)" for a key that repeated,
// and forgets the key. Windows open in time order, so the ones that ended are at the front of
// one list: finding them costs nothing while none has ended.
//
// Memory is bounded: at most max_keys keys are tracked. An event with a new key while all are
// taken is dropped and counted; once the oldest window has ended, one warning says how many
// were dropped. (Distinct messages past the cap are a flood in themselves: passing them through
// would leave both memory and output unbounded.)
//
// Handlers are called on the reporting thread, after the sink's own lock is released, so a
// handler may use the caches (and even log) without deadlocking on the sink. Callers in the
// engine report outside their own locks (see key_actor.cpp's pending events).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <corral/runtime/log.hpp>

namespace corral {

class log_sink {
public:
  using clock = std::chrono::steady_clock;
  /// The time source: steady_clock by default, a fake one in tests.
  using clock_fn = std::function<clock::time_point()>;

  static constexpr std::chrono::nanoseconds default_window = std::chrono::seconds(10);
  static constexpr std::size_t default_max_keys = 1024;

  /// Events below `level` are dropped before anything is formatted. The default handler writes
  /// one line per event to `out` (stderr; a temporary file in tests).
  explicit log_sink(log_level level = log_level::warning,
                    std::chrono::nanoseconds window = default_window, clock_fn now = {},
                    std::size_t max_keys = default_max_keys, std::FILE* out = stderr);

  log_sink(const log_sink&) = delete;
  log_sink& operator=(const log_sink&) = delete;

  /// The cheap check callers make before they build a message.
  bool enabled(log_level level) const noexcept {
    return level >= level_ && level != log_level::off;
  }
  log_level level() const noexcept { return level_; }

  /// Replaces the handler; an empty one restores the default (lines on `out`). Calls already
  /// running finish with the handler they started with.
  void set_handler(log_handler handler);

  /// Reports one event: dropped below the level, counted if it repeats inside its window,
  /// else handed to the handler. Never throws (a throwing handler is ignored).
  void write(log_level level, std::string_view component, std::string_view message) noexcept;

  /// write() with a message built only when the level is enabled.
  template <class F> void report(log_level level, std::string_view component, F&& make_message) {
    if (enabled(level))
      write(level, component, make_message());
  }

  /// Emits the summaries of windows that have ended. Cheap when none has (one atomic load).
  void flush_due() noexcept;
  /// Emits every pending summary now, windows ended or not (at shutdown); "in N s" is then the
  /// time since the key's first event.
  void flush_all() noexcept;

  /// Stops calling the user's handler (the runtime is shutting down: what the handler captured
  /// may be gone once shutdown() returns). Waits up to 2 s for calls in progress; later events,
  /// such as an abandoned loader's failure, are written as default lines to `out`.
  void close() noexcept;

  /// Keys currently tracked (tests).
  std::size_t tracked() const;

  /// The default handler's line, without the newline: "corral [warning] cache prices: ...".
  static std::string default_line(log_level level, std::string_view component,
                                  std::string_view message);

private:
  struct tracked_key {
    std::string id; // level, component and message in one string: the map's key
    log_level level;
    std::string component;
    std::string message;
    clock::time_point opened;
    std::size_t repeats = 0;
  };
  struct event {
    log_level level;
    std::string component;
    std::string message;
  };

  void collect_locked(clock::time_point now, bool all, std::vector<event>& out);
  void deliver(const std::vector<event>& events) noexcept;
  clock::time_point now() const { return now_ ? now_() : clock::now(); }

  const log_level level_;
  const std::chrono::nanoseconds window_;
  const clock_fn now_;
  const std::size_t max_keys_;
  std::FILE* const out_;

  mutable std::mutex mtx_;
  std::list<tracked_key> order_; // oldest window first
  std::unordered_map<std::string_view, std::list<tracked_key>::iterator> keys_;
  std::size_t dropped_ = 0; // events refused while every key slot was taken
  clock::time_point dropped_since_{};
  /// When the oldest window ends (max() when nothing is tracked): flush_due's lock-free check.
  std::atomic<clock::rep> next_due_{clock::time_point::max().time_since_epoch().count()};

  std::mutex handler_mtx_;
  std::shared_ptr<const log_handler> handler_;
  bool closed_ = false;        // close() was called: the handler is not called again
  std::size_t delivering_ = 0; // calls of the handler in progress
  std::condition_variable delivered_;
};

/// "10 s", "1.5 s", "250 ms": how a summary names its window.
std::string describe_window(std::chrono::nanoseconds d);

} // namespace corral
