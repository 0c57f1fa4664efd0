// Asks a cache's actor for its corral::cache_status (resident key actors, entries, ...).
#pragma once

#include <chrono>
#include <optional>

#include <corral/runtime/caf_interop.hpp>

namespace bench {

/// The status, or nullopt when the actor did not answer within `timeout`.
std::optional<corral::cache_status>
query_status(corral::runtime& rt, const corral::cache_actor& cache,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace bench
