#include <corral/runtime/version.hpp>

namespace corral {

const char* version() noexcept {
  return CORRAL_VERSION_STRING;
}

} // namespace corral
