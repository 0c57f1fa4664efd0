// load_outcome: what one load produced, handed from a loader thread to whoever publishes it
// (the key actor, or the loader thread itself). Free of CAF so that the loader adapters in the
// public headers can build one.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <corral/runtime/engine/entry.hpp>

namespace corral {

/// What a loader produced, handed from a loader thread to the key actor.
struct load_outcome {
  enum class kind { value, not_found, error };
  kind result = kind::error;
  std::unique_ptr<entry> value; // set for kind::value
  std::string error_message;    // set for kind::error
  std::chrono::nanoseconds took{0};
  bool skipped = false;     // the load was abandoned before it started; the loader never ran
  bool overloaded = false;  // the cache's bulkhead refused the (batch) load; the loader never ran
  bool from_source = false; // the value came from the loader (not tier 1): write it back
  /// The loader thread published the value already (`value` is then null): see key_actor.cpp.
  bool published = false;
};

} // namespace corral
