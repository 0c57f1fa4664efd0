#include <corral/runtime/engine/load_watch.hpp>

namespace corral {

void load_watch::drop_finished_head() {
  while (!loads_.empty() && loads_.front().flags->finished.load(std::memory_order_relaxed))
    loads_.pop_front();
}

bool load_watch::add(time_point deadline, caf::actor_addr owner, std::uint64_t load_id,
                     std::shared_ptr<const load_flags> flags) {
  std::lock_guard<std::mutex> guard{mtx_};
  drop_finished_head();
  // A key actor preempted between reading the clock and this lock may come with a deadline
  // older than the tail's: keep the queue ordered (its load times out that much later).
  if (!loads_.empty() && deadline < loads_.back().deadline)
    deadline = loads_.back().deadline;
  loads_.push_back({deadline, std::move(owner), load_id, std::move(flags)});
  if (armed_)
    return false;
  armed_ = true;
  return true;
}

std::vector<load_watch::expired> load_watch::take_expired(time_point now, time_point& next) {
  std::vector<expired> out;
  std::lock_guard<std::mutex> guard{mtx_};
  while (!loads_.empty() && loads_.front().deadline <= now) {
    auto& w = loads_.front();
    if (!w.flags->finished.load(std::memory_order_relaxed))
      out.push_back({std::move(w.owner), w.load_id});
    loads_.pop_front();
  }
  drop_finished_head();
  next = loads_.empty() ? time_point::max() : loads_.front().deadline;
  armed_ = !loads_.empty();
  return out;
}

std::size_t load_watch::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return loads_.size();
}

} // namespace corral
