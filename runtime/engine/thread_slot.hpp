// A small per-thread index so that hot-path state (epoch announcements, hit counters) lives in
// cache lines that only one thread writes. Slots are recycled when threads exit.
#pragma once

#include <cstddef>

namespace corral::detail {

/// Number of exclusive slots. Threads beyond this share `shared_slot` and fall back to
/// slower, contended paths; correctness is the same.
inline constexpr std::size_t max_thread_slots = 256;
inline constexpr std::size_t shared_slot = max_thread_slots; // one past the exclusive ones

struct thread_slot_info {
  std::size_t index;
  bool exclusive;
};

/// Takes a slot for the constructing thread and returns it when the thread exits.
struct thread_slot_holder {
  thread_slot_holder();
  ~thread_slot_holder();
  thread_slot_holder(const thread_slot_holder&) = delete;
  thread_slot_holder& operator=(const thread_slot_holder&) = delete;
  thread_slot_info info;
};

/// The calling thread's slot, assigned on first use. Inline: it is on every hit.
inline thread_slot_info current_thread_slot() noexcept {
  thread_local thread_slot_holder holder;
  return holder.info;
}

} // namespace corral::detail
