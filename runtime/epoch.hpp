// Epoch-based reclamation: lets readers walk the entry table with no lock and no shared write.
//
// A reader announces the global epoch in its own cache line (thread_slot) for the duration of
// an epoch_guard. A writer that unlinks an object retires it; the object is freed once every
// thread that was reading when it was retired has left its guard. Threads without an exclusive
// slot (more than max_thread_slots alive at once) hold a shared lock instead, which the
// reclaimer takes exclusively before freeing.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "runtime/thread_slot.hpp"

namespace corral::detail {

class epoch_domain {
public:
  using deleter = void (*)(void*);

  static epoch_domain& instance();

  /// Enters/leaves a read-side critical section of the calling thread. Reentrant.
  void enter() noexcept;
  void leave() noexcept;

  /// Frees `ptr` with `del` once no reader can still hold it.
  void retire(void* ptr, deleter del);

  /// Frees whatever is safe to free now. Returns how many objects are still waiting.
  std::size_t reclaim();

  /// Objects retired but not yet freed (for tests and metrics).
  std::size_t pending() const;

private:
  epoch_domain() = default;

  struct alignas(64) slot {
    std::atomic<std::uint64_t> epoch{0}; // 0 = not reading
    std::uint32_t depth = 0;             // only touched by the owning thread
  };
  struct retired {
    void* ptr;
    deleter del;
    std::uint64_t epoch;
  };

  std::size_t reclaim_locked(std::unique_lock<std::mutex>& lock);

  alignas(64) std::atomic<std::uint64_t> global_epoch_{1};
  slot slots_[max_thread_slots];
  std::shared_mutex shared_readers_; // for threads without an exclusive slot
  mutable std::mutex retire_mtx_;
  std::vector<retired> retired_;
};

/// RAII read-side critical section.
class epoch_guard {
public:
  epoch_guard() noexcept : domain_(epoch_domain::instance()) { domain_.enter(); }
  ~epoch_guard() { domain_.leave(); }
  epoch_guard(const epoch_guard&) = delete;
  epoch_guard& operator=(const epoch_guard&) = delete;

private:
  epoch_domain& domain_;
};

/// Retires an object allocated with `new T`.
template <class T> void retire_object(T* ptr) {
  if (ptr != nullptr)
    epoch_domain::instance().retire(ptr, [](void* p) { delete static_cast<T*>(p); });
}

} // namespace corral::detail
