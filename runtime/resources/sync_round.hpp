// sync_round: one call of sync(), waited on by the caller and completed by the resource actor
// as each resource it covers finishes its load. Its outcome is ONE error naming every resource
// that failed (or was still loading when the caller stopped waiting); the others are served.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/error.hpp>
#include <corral/runtime/resources/resource_config.hpp> // duration

namespace corral {

class sync_round {
public:
  // -- the resource actor ---------------------------------------------------------------------
  /// `name` is covered by this round and is loading.
  void expect(const std::string& name);
  /// Every covered resource has been expected; the round may now complete.
  void arm();
  /// `name` finished: loaded (code none) or failed with `code` and `reason`.
  void complete(const std::string& name, errc code = errc::none, std::string reason = {});
  /// The actor will not answer any more (it stopped, or never saw the round): everything still
  /// pending fails as "shutting down".
  void abandon();

  // -- the caller -------------------------------------------------------------------------------
  /// True once every covered resource has finished (or the round was abandoned).
  bool ready() const;
  /// Waits until ready(); nullopt when every covered resource has a value.
  std::optional<error> wait() const;
  /// Waits up to `timeout`; resources still loading then are named as such (errc::timeout
  /// unless some load failed, which makes it errc::load_failed).
  std::optional<error> wait_for(duration timeout) const;

private:
  struct failure {
    std::string name;
    errc code;
    std::string reason;
  };
  bool ready_locked() const { return armed_ && pending_.empty(); }
  std::optional<error> outcome_locked(bool timed_out) const;

  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  bool armed_ = false;
  bool dropped_ = false; // abandoned before the actor saw it
  std::size_t covered_ = 0;
  std::vector<std::string> pending_;
  std::vector<failure> failed_;
};

/// Carried by the sync message and held by every resource the round covers. Its destructor
/// abandons the round, so that a caller is answered even when the message is dropped (the
/// actor has stopped) or the actor is destroyed with the round still pending.
struct sync_ticket {
  explicit sync_ticket(std::shared_ptr<sync_round> r) : round(std::move(r)) {}
  ~sync_ticket() { round->abandon(); }
  sync_ticket(const sync_ticket&) = delete;
  sync_ticket& operator=(const sync_ticket&) = delete;
  std::shared_ptr<sync_round> round;
};

} // namespace corral
