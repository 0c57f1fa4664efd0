#include <corral/runtime/engine/thread_slot.hpp>

#include <atomic>
#include <mutex>
#include <vector>

namespace corral::detail {

namespace {

class slot_registry {
public:
  thread_slot_info acquire() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!free_.empty()) {
      auto idx = free_.back();
      free_.pop_back();
      return {idx, true};
    }
    if (next_ < max_thread_slots)
      return {next_++, true};
    return {shared_slot, false};
  }
  void release(thread_slot_info info) {
    if (!info.exclusive)
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    free_.push_back(info.index);
  }

private:
  std::mutex mtx_;
  std::size_t next_ = 0;
  std::vector<std::size_t> free_;
};

slot_registry& registry() {
  // Leaked on purpose: threads may exit after static destruction has begun.
  static auto* instance = new slot_registry;
  return *instance;
}

} // namespace

thread_slot_holder::thread_slot_holder() : info(registry().acquire()) {}

thread_slot_holder::~thread_slot_holder() {
  registry().release(info);
}

} // namespace corral::detail
