#include <corral/runtime/resources/sync_round.hpp>

#include <algorithm>

namespace corral {

void sync_round::expect(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  pending_.push_back(name);
  ++covered_;
}

void sync_round::arm() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    armed_ = true;
  }
  cv_.notify_all();
}

void sync_round::complete(const std::string& name, errc code, std::string reason) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = std::find(pending_.begin(), pending_.end(), name);
    if (i == pending_.end())
      return; // already answered (e.g. abandoned)
    pending_.erase(i);
    if (code != errc::none)
      failed_.push_back({name, code, std::move(reason)});
  }
  cv_.notify_all();
}

void sync_round::abandon() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!armed_)
      dropped_ = true;
    armed_ = true;
    for (auto& name : pending_)
      failed_.push_back({name, errc::shutting_down, "shutting down"});
    pending_.clear();
  }
  cv_.notify_all();
}

bool sync_round::ready() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ready_locked();
}

std::optional<error> sync_round::wait() const {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait(lock, [this] { return ready_locked(); });
  return outcome_locked(false);
}

std::optional<error> sync_round::wait_for(duration timeout) const {
  std::unique_lock<std::mutex> lock{mtx_};
  bool done = cv_.wait_until(lock, saturating_add(clock_type::now(), timeout),
                             [this] { return ready_locked(); });
  return outcome_locked(!done);
}

std::optional<error> sync_round::outcome_locked(bool timed_out) const {
  if (dropped_)
    return error{errc::shutting_down, "sync: the runtime is shutting down"};
  auto still_loading = timed_out ? pending_ : std::vector<std::string>{};
  if (failed_.empty() && still_loading.empty())
    return std::nullopt;
  // Sorted by name so that the message does not depend on completion order.
  auto failed = failed_;
  std::sort(failed.begin(), failed.end(),
            [](const failure& a, const failure& b) { return a.name < b.name; });
  std::sort(still_loading.begin(), still_loading.end());
  bool any_load_failed = std::any_of(failed.begin(), failed.end(),
                                     [](const failure& f) { return f.code == errc::load_failed; });
  errc code = any_load_failed ? errc::load_failed : timed_out ? errc::timeout : failed.front().code;
  std::string message = "sync: " + std::to_string(failed.size() + still_loading.size()) + " of " +
                        std::to_string(covered_) + " resources not loaded: ";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& reason) {
    message += (first ? "'" : "; '") + name + "' (" + reason + ")";
    first = false;
  };
  for (const auto& f : failed)
    add(f.name, f.reason);
  for (const auto& name : still_loading)
    add(name, "still loading");
  return error{code, message};
}

} // namespace corral
