#include "runtime/cache_core.hpp"

#include <algorithm>
#include <random>

#include "runtime/cache_tier.hpp"
#include "runtime/epoch.hpp"

#include <ctime>

#include <caf/detail/test_actor_clock.hpp>

namespace corral {

void cache_core::request_refresh(std::string_view key) const {
  post_to_supervisor(refresh_atom::value, std::string{key});
}

void cache_core::forget_tombstone_later(std::string_view key) const {
  post_to_supervisor(forget_atom::value, std::string{key});
}

double cache_core::draw_uniform() const noexcept {
  if (xfetch_random)
    return xfetch_random();
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // (0, 1]: 1 - [0, 1) keeps ln() finite.
  return 1.0 - std::uniform_real_distribution<double>{0.0, 1.0}(rng);
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

std::shared_ptr<load_outcome> cache_core::run_load(const std::string& key) noexcept {
  try {
    auto start = load_clock_now();
    if (tier1) {
      auto r = tier1->get(key);
      auto after_tier = load_clock_now();
      metrics.record(timing::tier1, ns_between(start, after_tier));
      if (r.result == erased_tier::status::hit) {
        count(counter::tier1_hits);
        auto out = std::make_shared<load_outcome>();
        out->result = load_outcome::kind::value;
        out->value = std::move(r.value);
        out->took = after_tier - start;
        metrics.record(timing::load, ns_between(start, after_tier));
        return out;
      }
      count(r.result == erased_tier::status::miss ? counter::tier1_misses : counter::tier1_errors);
    }
    auto source_start = load_clock_now();
    auto out = loader(key);
    auto end = load_clock_now();
    metrics.record(timing::source, ns_between(source_start, end));
    metrics.record(timing::load, ns_between(start, end));
    count(out->result == load_outcome::kind::error ? counter::source_errors
                                                   : counter::source_loads);
    out->from_source = true;
    out->took = end - start; // on the runtime's clock (the test clock in tests)
    return out;
  } catch (const std::exception& ex) {
    auto out = std::make_shared<load_outcome>(); // if even this throws, terminate is fair
    out->error_message = std::string{"load failed: "} + ex.what();
    return out;
  }
}

void cache_core::write_back_if_current(const std::string& key, std::uint64_t version,
                                       const std::function<void()>& value_job) {
  std::lock_guard<std::mutex> guard{tier_lock(key)};
  detail::epoch_guard epoch;
  const entry* e = table.find_exact(key);
  if (e != nullptr && e->version == version)
    value_job();
}

bool cache_core::invalidate_both(std::string_view key) {
  std::lock_guard<std::mutex> guard{tier_lock(key)};
  auto drop_local = [&] { return table.erase(key, table.next_version()); };
  if (tier1) {
    try {
      tier1->erase(std::string{key});
    } catch (...) {
      drop_local();
      throw;
    }
  }
  return drop_local();
}

} // namespace corral
