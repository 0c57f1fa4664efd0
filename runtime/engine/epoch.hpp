// Epoch-based reclamation: lets readers walk the entry table with no lock and no shared write.
//
// A reader announces the global epoch in its own cache line (thread_slot) for the duration of
// an epoch_guard. A writer that unlinks an object retires it; the object is freed once every
// thread that was reading when it was retired has left its guard. Threads without an exclusive
// slot (more than max_thread_slots alive at once) hold a shared lock instead, which the
// reclaimer takes exclusively before freeing.
//
// The reader's announcement must be ordered before its reads of the table (a store-load order).
// Where the kernel offers membarrier(PRIVATE_EXPEDITED), readers only need a compiler barrier:
// the reclaimer, which runs once per batch of retired objects, forces a full barrier on every
// thread of the process before it scans. Otherwise both sides use a full fence.
//
// Reclamation never blocks: objects it cannot free yet (a reader still inside, a reader without
// a slot holding the shared lock, a failed barrier) simply wait for the next attempt.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <corral/runtime/engine/thread_slot.hpp>

namespace corral::detail {

/// A full memory barrier. ThreadSanitizer does not model fences (GCC rejects them under
/// -fsanitize=thread), so TSan builds use a sequentially consistent read-modify-write instead,
/// which is a full barrier on x86-64 and which TSan understands.
inline void full_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
  static std::atomic<int> barrier{0};
  barrier.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

class epoch_domain {
public:
  using deleter = void (*)(void*);

  static epoch_domain& instance();

  /// Enters/leaves a read-side critical section of the calling thread. Reentrant.
  void enter(thread_slot_info info) noexcept {
    if (!info.exclusive) {
      if (overflow_depth()++ == 0) // reentrant: lock_shared twice on one thread is undefined
        shared_readers_.lock_shared();
      return;
    }
    auto& s = slots_[info.index];
    if (s.depth++ > 0)
      return;
    s.epoch.store(global_epoch_.load(std::memory_order_acquire), std::memory_order_relaxed);
    if (asymmetric_)
      std::atomic_signal_fence(
          std::memory_order_seq_cst); // the reclaimer's membarrier does the rest
    else
      full_fence(); // pairs with the fence in reclaim_locked (Dekker-style store/load order)
  }
  void leave(thread_slot_info info) noexcept {
    if (!info.exclusive) {
      if (--overflow_depth() == 0)
        shared_readers_.unlock_shared();
      return;
    }
    auto& s = slots_[info.index];
    if (--s.depth == 0)
      s.epoch.store(0, std::memory_order_release);
  }

  /// Frees `ptr` with `del` once no reader can still hold it.
  void retire(void* ptr, deleter del);

  /// Frees whatever is safe to free now. Returns how many objects are still waiting.
  std::size_t reclaim();

  /// Objects retired but not yet freed (for tests and metrics).
  std::size_t pending() const;

  /// Whether readers run without a hardware fence (membarrier available).
  bool asymmetric() const noexcept { return asymmetric_; }

private:
  epoch_domain();

  struct alignas(64) slot {
    std::atomic<std::uint64_t> epoch{0}; // 0 = not reading
    std::uint32_t depth = 0;             // only touched by the owning thread
  };
  struct retired {
    void* ptr;
    deleter del;
    std::uint64_t epoch;
  };

  static std::uint32_t& overflow_depth() noexcept {
    thread_local std::uint32_t depth = 0;
    return depth;
  }
  std::size_t reclaim_locked(std::unique_lock<std::mutex>& lock);
  /// Orders every reader's announcement before the scan; false when that could not be done.
  bool heavy_barrier() noexcept;

  bool asymmetric_ = false;
  alignas(64) std::atomic<std::uint64_t> global_epoch_{1};
  slot slots_[max_thread_slots];
  std::shared_mutex shared_readers_; // for threads without an exclusive slot
  mutable std::mutex retire_mtx_;
  std::vector<retired> retired_;
  /// Next reclamation attempt happens at this many waiting objects: a batch more than what the
  /// last attempt had to leave, so a long-held guard does not make every retire scan.
  std::size_t reclaim_at_ = 256;
};

/// RAII read-side critical section.
class epoch_guard {
public:
  epoch_guard() noexcept : epoch_guard(current_thread_slot()) {}
  explicit epoch_guard(thread_slot_info slot) noexcept
      : domain_(epoch_domain::instance()), slot_(slot) {
    domain_.enter(slot_);
  }
  ~epoch_guard() { domain_.leave(slot_); }
  epoch_guard(const epoch_guard&) = delete;
  epoch_guard& operator=(const epoch_guard&) = delete;

private:
  epoch_domain& domain_;
  thread_slot_info slot_;
};

/// Retires an object allocated with `new T`.
template <class T> void retire_object(T* ptr) {
  if (ptr != nullptr)
    epoch_domain::instance().retire(ptr, [](void* p) { delete static_cast<T*>(p); });
}

} // namespace corral::detail
