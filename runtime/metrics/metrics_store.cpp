#include <corral/runtime/metrics/metrics_store.hpp>

#include <algorithm>

namespace corral {

namespace {

std::uint64_t at(const counter_values& v, counter c) {
  return v[static_cast<std::size_t>(c)];
}

timing_stats summarize(const histogram_counts& h) {
  timing_stats t;
  t.count = h.count;
  t.avg_ns = h.average();
  t.max_ns = h.max_ns;
  t.p50_ns = h.quantile(0.5);
  t.p99_ns = h.quantile(0.99);
  t.sum_ns = h.sum_ns;
  // latency_bound_ns(i) = 2^(10+i) is the lower edge of histogram bucket 4 * (10 + i).
  std::uint64_t seen = 0;
  std::size_t bucket = 0;
  for (std::size_t i = 0; i < latency_bound_count; ++i) {
    const auto edge = latency_buckets::index_of(latency_bound_ns(i));
    for (; bucket < edge; ++bucket)
      seen += h.buckets[bucket];
    t.below[i] = seen;
  }
  return t;
}

double rate(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

} // namespace

metrics_store::cumulative metrics_store::read(const metric_sources& src) {
  cumulative c;
  c.counters = src.counters.snapshot();
  for (std::size_t t = 0; t < timing_count; ++t)
    c.timings[t] = src.timings[t].snapshot();
  return c;
}

metrics_store::cumulative metrics_store::minus(const cumulative& now, const cumulative& base) {
  cumulative d;
  for (std::size_t i = 0; i < counter_count; ++i)
    d.counters[i] = now.counters[i] - base.counters[i];
  for (std::size_t t = 0; t < timing_count; ++t) {
    d.timings[t] = now.timings[t].minus(base.timings[t]);
    d.timings[t].max_ns = now.timings[t].max_ns; // the live maximum belongs to this window
  }
  return d;
}

void metrics_store::add(cumulative& into, const cumulative& w) {
  for (std::size_t i = 0; i < counter_count; ++i)
    into.counters[i] += w.counters[i];
  for (std::size_t t = 0; t < timing_count; ++t)
    into.timings[t] += w.timings[t];
}

window_stats metrics_store::to_window(const cumulative& c) {
  const auto& v = c.counters;
  window_stats w;
  w.hits = at(v, counter::hits) + at(v, counter::negative_hits) + at(v, counter::stale_hits);
  w.misses = at(v, counter::misses) + at(v, counter::stale_on_error);
  w.errors = at(v, counter::errors) + at(v, counter::timeouts);
  w.requests = w.hits + w.misses + w.errors;
  w.hit_rate = rate(w.hits, w.requests);
  w.miss_rate = rate(w.misses, w.requests);
  w.error_rate = rate(w.errors, w.requests);
  w.stale_serves = at(v, counter::stale_hits) + at(v, counter::stale_on_error);
  w.negative_hits = at(v, counter::negative_hits);
  w.timeouts = at(v, counter::timeouts);
  w.manual_misses = at(v, counter::invalidations);
  w.puts = at(v, counter::puts);
  w.loads = at(v, counter::loads);
  w.load_errors = at(v, counter::load_errors);
  w.refreshes = at(v, counter::refreshes);
  w.tier1_hits = at(v, counter::tier1_hits);
  w.tier1_misses = at(v, counter::tier1_misses);
  w.tier1_errors = at(v, counter::tier1_errors);
  w.tier1_hit_rate = rate(w.tier1_hits, w.tier1_hits + w.tier1_misses + w.tier1_errors);
  w.source_loads = at(v, counter::source_loads);
  w.source_errors = at(v, counter::source_errors);
  w.writes = at(v, counter::writes);
  w.write_failures = at(v, counter::write_failures);
  w.dead_letters = at(v, counter::dead_letters);
  w.evictions = at(v, counter::evictions);
  w.weight_evictions = at(v, counter::weight_evictions);
  w.expirations = at(v, counter::expirations);
  w.admission_rejections = at(v, counter::admission_rejections);
  w.abandoned_loads = at(v, counter::abandoned_loads);
  w.bulkhead_rejections = at(v, counter::bulkhead_rejections);
  w.passivations = at(v, counter::passivations);
  auto of = [&](timing t) { return summarize(c.timings[static_cast<std::size_t>(t)]); };
  w.load_time = of(timing::load);
  w.tier1_time = of(timing::tier1);
  w.source_time = of(timing::source);
  w.write_time = of(timing::write);
  return w;
}

void metrics_store::fold(metric_sources& src) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = read(src);
  auto window = minus(now, base_);
  // Close the window's maxima: the next window starts from zero.
  for (std::size_t t = 0; t < timing_count; ++t) {
    window.timings[t].max_ns = src.timings[t].take_window_max();
    max_so_far_.timings[t].max_ns =
        std::max(max_so_far_.timings[t].max_ns, window.timings[t].max_ns);
  }
  ring_.push_back(window);
  while (ring_.size() > windows_)
    ring_.pop_front();
  base_ = now;
  ++completed_;
}

metrics_snapshot metrics_store::snapshot(const std::string& cache, const metric_sources& src,
                                         std::uint64_t entries) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = read(src);
  metrics_snapshot s;
  s.cache = cache;
  s.cycle_ns = cycle_ns_;
  s.windows = windows_;
  s.completed_windows = completed_;
  s.last = to_window(minus(now, base_));
  cumulative cycle;
  for (const auto& w : ring_)
    add(cycle, w);
  s.cycle = to_window(cycle);
  auto total = now;
  for (std::size_t t = 0; t < timing_count; ++t)
    total.timings[t].max_ns = std::max(max_so_far_.timings[t].max_ns, now.timings[t].max_ns);
  s.total = to_window(total);
  s.gauges.loads_in_flight = src.loads_in_flight.load();
  s.gauges.parked_waiters = src.parked_waiters.load();
  s.gauges.resident_actors = src.resident_actors.load();
  s.gauges.largest_mailbox = src.largest_mailbox.load();
  s.gauges.abandoned_running = src.abandoned_running.load();
  s.gauges.entries = entries;
  return s;
}

} // namespace corral
