#include <corral/runtime/resources/resource_config.hpp>

#include <string_view>

#include <corral/runtime/config/config.hpp>
#include <corral/runtime/config/config_json.hpp>

namespace corral {

namespace {

struct duration_member {
  std::string_view key;
  duration resource_config::*member;
};

// Keyed by the JSON names so that errors for resources declared in code use the same paths.
constexpr duration_member duration_members[] = {
    {"refresh_interval", &resource_config::refresh_interval},
    {"error_backoff", &resource_config::error_backoff},
    {"error_backoff_max", &resource_config::error_backoff_max},
    {"load_timeout", &resource_config::load_timeout},
};

std::string key_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

} // namespace

void validate(const resource_config& r, const std::string& path) {
  if (r.name.empty())
    throw config_error(key_path(path, "name"), "expected a non-empty resource name, found \"\"");
  for (const auto& [key, member] : duration_members) {
    if ((r.*member).count() < 0)
      throw config_error(key_path(path, key),
                         "expected a non-negative duration, found " + format_duration(r.*member));
    // Timers add these to the current time; keep that far from overflow.
    if (r.*member > max_config_duration)
      throw config_error(key_path(path, key), "expected a duration of at most 10 years "
                                              "(use 0 for \"never\"), found " +
                                                  format_duration(r.*member));
  }
  // Written as a negated range test so that NaN is rejected too.
  if (!(r.refresh_jitter >= 0.0 && r.refresh_jitter < 1.0))
    throw config_error(key_path(path, "refresh_jitter"),
                       "expected a number in [0, 1), found " + std::to_string(r.refresh_jitter));
  if (r.error_backoff.count() > 0 && r.error_backoff_max < r.error_backoff)
    throw config_error(key_path(path, "error_backoff_max"),
                       "expected at least error_backoff (" + format_duration(r.error_backoff) +
                           "), found " + format_duration(r.error_backoff_max));
}

} // namespace corral
