// The CAF side of the facade: the actor system a runtime runs, and each cache's message
// interface (corral::cache_actor, messages/cache_messages.hpp) for CAF actors and remote nodes.
// Kept apart from runtime.hpp so that code which only calls cache handles compiles no CAF.
//
//   #include <corral/runtime/caf_interop.hpp>
//   auto prices = rt.cache<double>("prices");
//   rt.system().spawn(my_actor, corral::actor_of(prices));
#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/runtime.hpp>

namespace corral {

/// How the CAF-facing functions reach a runtime's caches (defined in runtime.cpp).
struct runtime_access {
  static cache_actor actor_of(runtime& rt, const std::string& name);
};

/// The cache's actor, from its type-erased handle. Null after shutdown.
cache_actor actor_of(const core_handle& cache);

/// The cache's actor. Valid while the runtime runs; a null handle after shutdown.
template <class V> cache_actor actor_of(const cache<V>& c) {
  return actor_of(c.handle());
}

/// The actor of a cache that exists (created by cache() or make_cache()); throws
/// failure(errc::no_such_cache) for any other name.
inline cache_actor actor_of(runtime& rt, const std::string& name) {
  return runtime_access::actor_of(rt, name);
}

} // namespace corral
