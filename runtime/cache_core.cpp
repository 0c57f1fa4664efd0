#include "runtime/cache_core.hpp"

#include <ctime>

#include <caf/detail/test_actor_clock.hpp>

namespace corral {

void cache_core::request_refresh(std::string_view key) const {
  post_to_supervisor(refresh_atom::value, std::string{key});
}

void cache_core::forget_tombstone_later(std::string_view key) const {
  post_to_supervisor(forget_atom::value, std::string{key});
}

bool cache_core::uses_real_time(const caf::actor_clock& clk) noexcept {
  return dynamic_cast<const caf::detail::test_actor_clock*>(&clk) == nullptr;
}

time_point cache_core::hit_now() const noexcept {
  if (!coarse_clock_)
    return clock.now();
  // libstdc++'s steady_clock is CLOCK_MONOTONIC; the coarse variant shares its origin.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return time_point{std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec}};
}

} // namespace corral
