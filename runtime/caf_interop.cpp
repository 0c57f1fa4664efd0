#include <corral/runtime/caf_interop.hpp>

#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

cache_actor actor_of(const core_handle& cache) {
  return caf::actor_cast<cache_actor>(cache.core()->supervisor_handle());
}

} // namespace corral
