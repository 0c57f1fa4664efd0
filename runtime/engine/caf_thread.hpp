// CAF 0.17 leaves a counted reference to the actor system's logger in a thread-local of every
// thread that constructs an actor system, spawns an actor or makes a scoped_actor, and
// ~actor_system waits until the logger is destroyed. A reference left on a thread that outlives
// the runtime (a thread pool's, or the thread that made the runtime when another destroys it)
// hangs that destructor forever. corral calls CAF from its users' threads: a miss spawns the
// key's actor on the requesting thread. Every such call is wrapped in this guard, which takes
// the reference back unless the thread held that system's before.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/logger.hpp>

namespace corral::detail {

class caf_thread_guard {
public:
  explicit caf_thread_guard(caf::actor_system& sys) noexcept
      : kept_(caf::logger::current_logger() == &sys.logger()) {}
  /// Unless the thread held this system's logger before (one of its workers, or its user's own
  /// reference), it holds none afterwards. A thread that held another system's logger (a worker
  /// of another runtime calling this one) loses that reference too: CAF offers no way to put
  /// it back, and its only use is the logging corral turns off.
  ~caf_thread_guard() {
    if (!kept_)
      caf::logger::set_current_actor_system(nullptr);
  }
  caf_thread_guard(const caf_thread_guard&) = delete;
  caf_thread_guard& operator=(const caf_thread_guard&) = delete;

private:
  bool kept_;
};

} // namespace corral::detail
