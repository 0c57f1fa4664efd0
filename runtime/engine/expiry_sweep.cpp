#include <corral/runtime/engine/expiry_sweep.hpp>

#include <algorithm>

#include <corral/runtime/engine/cache_core.hpp>

namespace corral {

namespace {

// Entries examined between checks of the density and the time budget.
constexpr std::size_t stretch = 4096;

} // namespace

bool expiry_sweep::needed(const cache_core& core) noexcept {
  return core.cfg.ttl.count() > 0 || core.cfg.negative_ttl.count() > 0;
}

expiry_sweep::pass_result expiry_sweep::run(cache_core& core, std::chrono::nanoseconds budget) {
  pass_result r;
  if (!needed(core))
    return r;
  auto& table = core.table;
  auto now = core.now();
  auto grace = std::max(core.cfg.stale_while_revalidate, core.cfg.stale_if_error);
  auto size = table.size();
  if (cursor_.rounds != round_) { // a new round begins
    round_ = cursor_.rounds;
    round_size_ = size;
  }
  auto per_round = std::max(round_size_, size);
  auto minimum = std::max(min_examined, (per_round + passes_per_round - 1) / passes_per_round);
  auto started = clock_type::now();
  for (;;) {
    auto part = table.reclaim_expired(cursor_, std::min(stretch, size + 1), now, grace);
    r.examined += part.examined;
    r.reclaimed += part.reclaimed;
    if (part.examined == 0 || r.examined >= size)
      break; // empty, or a whole round done
    if (r.examined < minimum)
      continue;
    bool dense = part.reclaimed * 4 >= part.examined;
    if (!dense || clock_type::now() - started >= budget)
      break;
  }
  if (r.reclaimed > 0)
    core.count(counter::expirations, r.reclaimed);
  return r;
}

} // namespace corral
