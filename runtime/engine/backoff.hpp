// The doubling backoff shared by failed loads (key actors), failed refreshes on access and
// failed write-behind batches.
#pragma once

#include <corral/runtime/config/config.hpp>

namespace corral {

/// After `failures` consecutive failures: `base`, doubled once per failure after the first,
/// and no more once it has reached `stop_at`. Callers cap the result to their own maximum.
inline duration doubled_backoff(duration base, unsigned failures, duration stop_at) noexcept {
  for (unsigned i = 1; i < failures && base < stop_at; ++i)
    base *= 2;
  return base;
}

} // namespace corral
