// XFetch: probabilistic early refresh (Vattani, Chierichetti, Lowenstein, "Optimal
// Probabilistic Cache Stampede Prevention", VLDB 2015). A reader refreshes early when
//     now - delta * beta * ln(u) >= expiry,      u uniform in (0, 1]
// where delta is how long the value took to load. Readers on many nodes then spread their
// refreshes over the time before expiry instead of all missing at the same instant; beta > 1
// favours earlier refreshes.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>

#include <corral/runtime/engine/entry.hpp>

namespace corral {

/// The XFetch decision for one read, given the uniform draw `u` in (0, 1].
inline bool xfetch_due(time_point now, time_point expiry, std::chrono::nanoseconds delta,
                       double beta, double u) noexcept {
  if (now >= expiry)
    return true;
  if (beta <= 0 || delta.count() <= 0 || u <= 0)
    return u <= 0; // ln(0) = -inf: an infinite head start
  auto head_start = static_cast<double>(delta.count()) * beta * -std::log(u);
  auto remaining = static_cast<double>((expiry - now).count());
  return head_start >= remaining;
}

/// Whether a read this far from expiry could refresh with a probability worth drawing for:
/// P(early) = exp(-remaining / (delta * beta)), below 2e-9 beyond 20 * delta * beta.
inline bool xfetch_window(time_point now, time_point expiry, std::chrono::nanoseconds delta,
                          double beta) noexcept {
  if (beta <= 0 || delta.count() <= 0 || expiry == time_point::max())
    return false;
  return static_cast<double>((expiry - now).count()) <
         20.0 * beta * static_cast<double>(delta.count());
}

} // namespace corral
