#include <corral/runtime/engine/epoch.hpp>

#include <algorithm>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace corral::detail {

namespace {

// Reclaim once this many objects wait: amortizes the scan of all reader slots.
constexpr std::size_t reclaim_batch = 256;

bool register_membarrier() noexcept {
#if defined(__linux__) && defined(__NR_membarrier) && !defined(__SANITIZE_THREAD__)
  // TSan builds keep symmetric fences: TSan does not know what membarrier does.
  auto supported = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
    return false;
  return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
  return false;
#endif
}

} // namespace

epoch_domain::epoch_domain() : asymmetric_(register_membarrier()) {}

epoch_domain& epoch_domain::instance() {
  // Leaked on purpose: readers on detached threads may outlive static destruction.
  static auto* domain = new epoch_domain;
  return *domain;
}

bool epoch_domain::heavy_barrier() noexcept {
  if (!asymmetric_) {
    full_fence();
    return true;
  }
#if defined(__linux__) && defined(__NR_membarrier)
  // Readers rely on this barrier: if it fails (e.g. ENOMEM), a local fence would not order
  // their announcements, so nothing may be freed this time.
  return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
  return false;
#endif
}

void epoch_domain::retire(void* ptr, deleter del) {
  std::unique_lock<std::mutex> lock{retire_mtx_};
  retired_.push_back({ptr, del, global_epoch_.load(std::memory_order_relaxed)});
  if (retired_.size() >= reclaim_at_)
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
  // Whatever this attempt leaves, the next one waits for a further batch (set under the lock).
  reclaim_at_ = retired_.size() + reclaim_batch;
  // Everything retired so far carries an epoch <= the one we leave behind here.
  global_epoch_.fetch_add(1, std::memory_order_seq_cst);
  // Either a reader's announcement is visible to the scan below, or that reader sees every
  // unlink made before this point (and so cannot reach the objects freed here).
  if (!heavy_barrier())
    return retired_.size();
  auto oldest_reader = UINT64_MAX;
  for (auto& s : slots_) {
    auto e = s.epoch.load(std::memory_order_acquire);
    if (e != 0)
      oldest_reader = std::min(oldest_reader, e);
  }
  // Readers without a slot hold shared_readers_ while reading; if one is inside (possibly this
  // very thread), wait for a later attempt instead of blocking.
  std::unique_lock<std::shared_mutex> no_overflow_readers{shared_readers_, std::try_to_lock};
  if (!no_overflow_readers.owns_lock())
    return retired_.size();
  // A reader that announced epoch e may hold anything retired at epoch >= e.
  std::vector<retired> to_free;
  auto keep = std::partition(retired_.begin(), retired_.end(),
                             [&](const retired& r) { return r.epoch >= oldest_reader; });
  to_free.assign(keep, retired_.end());
  retired_.erase(keep, retired_.end());
  auto remaining = retired_.size();
  reclaim_at_ = remaining + reclaim_batch;
  // New overflow readers can no longer reach what was unlinked: the lock may go.
  no_overflow_readers.unlock();
  lock.unlock();
  for (auto& r : to_free)
    r.del(r.ptr);
  return remaining;
}

} // namespace corral::detail
