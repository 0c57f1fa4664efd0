// Error codes and the error value every failed operation returns.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace corral {

enum class errc : std::uint8_t {
  none = 0,
  not_found = 1,         // the loader said the key does not exist (possibly cached: negative_ttl)
  load_failed = 2,       // the loader threw or returned an error (or the key is backing off)
  timeout = 3,           // the request's deadline or the cache's load_timeout passed
  shutting_down = 4,     // the runtime is stopping or stopped
  no_such_cache = 5,     // no cache of that name
  no_loader = 6,         // the cache has no loader and the key is absent
  no_codec = 7,          // the value type has no codec, so it cannot cross a message boundary
  bad_value = 8,         // bytes that the codec could not decode
  type_mismatch = 9,     // a cache handle was asked for with a value type other than the cache's
  not_loaded = 10,       // a resource has no value yet (before its first successful load)
  no_such_resource = 11, // no resource of that name (never declared, or removed)
  backlog_full = 12,     // write-behind: max_dirty unwritten entries, and the put could not wait
  write_failed = 13,     // write-behind: the store refused the item for good (dead-lettered)
  overloaded = 14,       // the cache's bulkhead queue was full (max_queued_loads): load refused
};

/// Short stable name of a code ("not_found", "timeout", ...).
const char* to_string(errc code) noexcept;

/// What went wrong: a code for programs and a message for people that names the key and cache.
struct error {
  errc code = errc::none;
  std::string message;
};

/// Thrown by result<V>::value() on a failed result.
class failure : public std::runtime_error {
public:
  explicit failure(error e) : std::runtime_error(e.message), error_(std::move(e)) {}
  const corral::error& err() const noexcept { return error_; }

private:
  corral::error error_;
};

} // namespace corral
