// Runs part of a scenario in a child process made by fork(), for measurements that must be
// protected from a runtime that takes too long to stop (kill it after a limit), or that need
// not wait for one to stop at all (the child ends with _exit: no destructor runs, so a runtime
// it leaves alive goes with the process at once).
//
//   struct figures { double ms; };              // trivially copyable, at most PIPE_BUF bytes
//   auto st = bench::run_in_child<figures>(
//       [](const bench::record_pipe& out) { out.send(figures{measure()}); },
//       [&](const figures& f) { got = f; return bench::keep_limit; }, std::chrono::seconds(60));
//
// Fork only while this process runs no other thread (no runtime alive, every measuring thread
// joined): the child starts with the forking thread alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include <limits.h>

namespace bench {

/// How a child ended.
struct child_status {
  bool timed_out = false;    // killed (SIGKILL) when its limit passed
  double killed_after_s = 0; // time since its last limit was set, when it was killed
  std::string failure;       // why it did not end normally (exit status, signal); empty if it did
  bool ok() const { return !timed_out && failure.empty(); }
};

/// The child's end of the pipe: whole records, one write each.
class record_pipe {
public:
  explicit record_pipe(int fd) : fd_(fd) {}
  template <class R> void send(const R& r) const {
    static_assert(std::is_trivially_copyable_v<R>, "records are copied as bytes");
    static_assert(sizeof(R) <= PIPE_BUF, "one write per record, so that it is atomic");
    write_all(&r, sizeof r);
  }

private:
  void write_all(const void* data, std::size_t size) const;
  int fd_;
};

/// What on_record returns to keep the limit running since it was last set.
inline constexpr std::optional<std::chrono::milliseconds> keep_limit = std::nullopt;

namespace detail {
child_status
run_child(std::size_t record_size, const std::function<void(const record_pipe&)>& body,
          const std::function<std::optional<std::chrono::milliseconds>(const void*)>& on_record,
          std::chrono::milliseconds limit);
} // namespace detail

/// Runs body(pipe) in a forked child, which then ends with _exit (status 1 if body threw).
/// The parent calls on_record(r) for every record R the child sends; by returning a duration,
/// a record sets a new limit counted from its arrival (keep_limit leaves it). A child still
/// running when its limit passes is killed. Returns once the child has ended.
template <class R, class Body, class OnRecord>
child_status run_in_child(const Body& body, const OnRecord& on_record,
                          std::chrono::milliseconds limit) {
  static_assert(std::is_trivially_copyable_v<R>, "records are copied as bytes");
  return detail::run_child(
      sizeof(R), [&](const record_pipe& out) { body(out); },
      [&](const void* bytes) -> std::optional<std::chrono::milliseconds> {
        R r;
        std::memcpy(static_cast<void*>(&r), bytes, sizeof r);
        return on_record(r);
      },
      limit);
}

} // namespace bench
