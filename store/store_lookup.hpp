// Lookup on miss for write-behind caches without a loader (the lazy writer's LookupOnMiss):
// a miss asks the store, through the key actor's single-flight and on the loader pool, so no
// lock that other keys need is held meanwhile. An item read this way is not dirty.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include <corral/runtime/engine/cache_core.hpp>
#include <corral/store/write_store.hpp>

namespace corral {

/// A loader that finds keys in `store`, decoding with `ops`. Sessions are pooled: one per
/// loader thread at most, reopened when broken.
erased_loader store_lookup(std::shared_ptr<write_store> store, const value_ops& ops);

} // namespace corral
