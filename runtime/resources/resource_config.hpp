// Options of one resource: a named value that is loaded by sync() and then refreshed in the
// background at a fixed rate, so that readers always find a value (see
// runtime/resources/resource.hpp).
#pragma once

#include <chrono>
#include <string>

namespace corral {

using duration = std::chrono::nanoseconds;

struct resource_config {
  std::string name;
  /// Name of a loader registered with runtime::register_resource_loader. Required in JSON;
  /// empty when the loader is given in code (runtime::add_resource).
  std::string loader;
  /// Time between the starts of two refreshes (fixed rate: a slow load does not push the next
  /// one back). 0 = loaded by sync() only, never refreshed.
  duration refresh_interval{std::chrono::minutes(1)};
  /// Each delay is refresh_interval × (1 ± refresh_jitter), uniformly drawn, so that resources
  /// declared together do not refresh together; the mean rate stays one per interval. [0, 1).
  double refresh_jitter{0.0};
  /// After a failed load the next attempt comes this long later, doubling per consecutive
  /// failure up to error_backoff_max; a success returns to the refresh_interval schedule.
  /// 0 = no retry before the next scheduled refresh.
  duration error_backoff{std::chrono::seconds(1)};
  duration error_backoff_max{std::chrono::seconds(30)};
  /// A load still running after this long fails as timed out: sync() reports it, the last
  /// good value stays, the error handler hears of it (errc::timeout) and the schedule goes on
  /// as after any failure. The loader's thread cannot be taken back: it stays busy until the
  /// loader returns, and a late success is still stored unless a load started after it has
  /// succeeded first. Defaults to 10 s, as for caches, so that a hung loader never hangs
  /// sync(true); 0 = wait forever.
  duration load_timeout{std::chrono::seconds(10)};
};

/// Checks one resource's ranges. `path` prefixes the key in errors ("resources[2]" gives
/// "resources[2].refresh_jitter"; "" gives "refresh_jitter"). Throws config_error.
void validate(const resource_config& r, const std::string& path);

} // namespace corral
