#include "runtime/cache_core.hpp"

#include <algorithm>

#include "runtime/cache_tier.hpp"

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

namespace corral {

namespace {

std::uint64_t ns_between(time_point a, time_point b) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count()));
}

} // namespace

std::shared_ptr<load_outcome> cache_core::run_load(const std::string& key,
                                                   std::function<void()>& write_back) {
  auto& m = metrics; // counters and histograms are safe to update from any thread
  auto start = now();
  if (tier1) {
    auto r = tier1->get(key);
    auto after_tier = now();
    m.record(timing::tier1, ns_between(start, after_tier));
    if (r.result == erased_tier::status::hit) {
      m.counters.add(counter::tier1_hits);
      auto out = std::make_shared<load_outcome>();
      out->result = load_outcome::kind::value;
      out->value = std::move(r.value);
      m.record(timing::load, ns_between(start, after_tier));
      return out;
    }
    m.counters.add(r.result == erased_tier::status::miss ? counter::tier1_misses
                                                         : counter::tier1_errors);
  }
  auto source_start = now();
  auto out = loader(key);
  auto end = now();
  m.record(timing::source, ns_between(source_start, end));
  m.record(timing::load, ns_between(start, end));
  if (out->result == load_outcome::kind::error) {
    m.counters.add(counter::source_errors);
  } else {
    m.counters.add(counter::source_loads);
    if (tier1 && out->result == load_outcome::kind::value)
      write_back = tier1->write_back(key, *out->value);
  }
  return out;
}

} // namespace corral
