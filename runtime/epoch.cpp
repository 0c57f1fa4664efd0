#include "runtime/epoch.hpp"

#include <algorithm>

namespace corral::detail {

namespace {

// Reclaim once this many objects wait: amortizes the scan of all reader slots.
constexpr std::size_t reclaim_batch = 256;

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

} // namespace

epoch_domain& epoch_domain::instance() {
  // Leaked on purpose: readers on detached threads may outlive static destruction.
  static auto* domain = new epoch_domain;
  return *domain;
}

void epoch_domain::enter() noexcept {
  auto info = current_thread_slot();
  if (!info.exclusive) {
    shared_readers_.lock_shared();
    return;
  }
  auto& s = slots_[info.index];
  if (s.depth++ > 0)
    return;
  s.epoch.store(global_epoch_.load(std::memory_order_acquire), std::memory_order_relaxed);
  // Pairs with the fence in reclaim_locked: either the reclaimer sees our announcement, or we
  // see every unlink that happened before its scan (Dekker-style store/load ordering).
  full_fence();
}

void epoch_domain::leave() noexcept {
  auto info = current_thread_slot();
  if (!info.exclusive) {
    shared_readers_.unlock_shared();
    return;
  }
  auto& s = slots_[info.index];
  if (--s.depth == 0)
    s.epoch.store(0, std::memory_order_release);
}

void epoch_domain::retire(void* ptr, deleter del) {
  std::unique_lock<std::mutex> lock{retire_mtx_};
  retired_.push_back({ptr, del, global_epoch_.load(std::memory_order_relaxed)});
  if (retired_.size() >= reclaim_batch)
    reclaim_locked(lock);
}

std::size_t epoch_domain::reclaim() {
  std::unique_lock<std::mutex> lock{retire_mtx_};
  return reclaim_locked(lock);
}

std::size_t epoch_domain::pending() const {
  std::lock_guard<std::mutex> lock{retire_mtx_};
  return retired_.size();
}

std::size_t epoch_domain::reclaim_locked(std::unique_lock<std::mutex>& lock) {
  // Everything retired so far carries an epoch <= the one we leave behind here.
  global_epoch_.fetch_add(1, std::memory_order_seq_cst);
  full_fence();
  auto oldest_reader = UINT64_MAX;
  for (auto& s : slots_) {
    auto e = s.epoch.load(std::memory_order_acquire);
    if (e != 0)
      oldest_reader = std::min(oldest_reader, e);
  }
  // A reader that announced epoch e may hold anything retired at epoch >= e.
  std::vector<retired> to_free;
  auto keep = std::partition(retired_.begin(), retired_.end(),
                             [&](const retired& r) { return r.epoch >= oldest_reader; });
  to_free.assign(keep, retired_.end());
  retired_.erase(keep, retired_.end());
  auto remaining = retired_.size();
  lock.unlock();
  if (!to_free.empty()) {
    // Wait out readers without an exclusive slot; new ones cannot reach unlinked objects.
    std::unique_lock<std::shared_mutex> wait_readers{shared_readers_};
  }
  for (auto& r : to_free)
    r.del(r.ptr);
  return remaining;
}

} // namespace corral::detail
