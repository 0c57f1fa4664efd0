// How CAF inspects (serializes) the metrics types, so that a snapshot can travel in a message to
// other actors and nodes. Kept out of runtime/metrics/metrics.hpp, which needs no CAF.
#pragma once

#include <caf/meta/type_name.hpp>

#include <corral/runtime/metrics/metrics.hpp>

namespace corral {

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, timing_stats& x) {
  return f(caf::meta::type_name("corral::timing_stats"), x.count, x.avg_ns, x.max_ns, x.p50_ns,
           x.p99_ns, x.sum_ns, x.below);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, window_stats& x) {
  return f(caf::meta::type_name("corral::window_stats"), x.requests, x.hits, x.misses, x.errors,
           x.hit_rate, x.miss_rate, x.error_rate, x.stale_serves, x.negative_hits, x.timeouts,
           x.manual_misses, x.puts, x.loads, x.load_errors, x.refreshes, x.tier1_hits,
           x.tier1_misses, x.tier1_errors, x.tier1_hit_rate, x.source_loads, x.source_errors,
           x.writes, x.write_failures, x.dead_letters, x.evictions, x.weight_evictions,
           x.expirations, x.admission_rejections, x.abandoned_loads, x.bulkhead_rejections,
           x.passivations, x.load_time, x.tier1_time, x.source_time, x.write_time);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, gauge_stats& x) {
  return f(caf::meta::type_name("corral::gauge_stats"), x.loads_in_flight, x.parked_waiters,
           x.dirty_backlog, x.resident_actors, x.largest_mailbox, x.entries, x.weight,
           x.loads_queued, x.abandoned_running);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metrics_snapshot& x) {
  return f(caf::meta::type_name("corral::metrics_snapshot"), x.cache, x.cycle_ns, x.windows,
           x.completed_windows, x.last, x.cycle, x.total, x.gauges);
}

} // namespace corral
