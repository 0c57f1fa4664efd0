#include <corral/runtime/error.hpp>

namespace corral {

const char* to_string(errc code) noexcept {
  switch (code) {
  case errc::none:
    return "none";
  case errc::not_found:
    return "not_found";
  case errc::load_failed:
    return "load_failed";
  case errc::timeout:
    return "timeout";
  case errc::shutting_down:
    return "shutting_down";
  case errc::no_such_cache:
    return "no_such_cache";
  case errc::no_loader:
    return "no_loader";
  case errc::no_codec:
    return "no_codec";
  case errc::bad_value:
    return "bad_value";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::not_loaded:
    return "not_loaded";
  case errc::no_such_resource:
    return "no_such_resource";
  case errc::backlog_full:
    return "backlog_full";
  case errc::write_failed:
    return "write_failed";
  case errc::overloaded:
    return "overloaded";
  }
  return "unknown";
}

} // namespace corral
