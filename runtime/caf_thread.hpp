// CAF 0.17 leaves a counted reference to the actor system's logger in a thread-local of every
// thread that constructs an actor system, spawns an actor or makes a scoped_actor, and
// ~actor_system waits until the logger is destroyed. A reference left on a thread that outlives
// the runtime (a thread pool's, or the thread that made the runtime when another destroys it)
// hangs that destructor forever. corral calls CAF from its users' threads: a miss spawns the
// key's actor on the requesting thread. Every such call is wrapped in this guard, which takes
// the reference back unless the thread held one before (a CAF worker, or its user's own).
#pragma once

#include <caf/logger.hpp>

namespace corral::detail {

class caf_thread_guard {
public:
  caf_thread_guard() noexcept : had_logger_(caf::logger::current_logger() != nullptr) {}
  ~caf_thread_guard() {
    if (!had_logger_)
      caf::logger::set_current_actor_system(nullptr);
  }
  caf_thread_guard(const caf_thread_guard&) = delete;
  caf_thread_guard& operator=(const caf_thread_guard&) = delete;

private:
  bool had_logger_;
};

} // namespace corral::detail
