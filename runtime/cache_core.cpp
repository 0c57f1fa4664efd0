#include "runtime/cache_core.hpp"

namespace corral {

void cache_core::request_refresh(std::string_view key) const {
  post(supervisor, refresh_atom::value, std::string{key});
}

} // namespace corral
