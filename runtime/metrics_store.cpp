#include "runtime/metrics_store.hpp"

#include <algorithm>

namespace corral {

namespace {

std::uint64_t at(const counter_values& v, counter c) {
  return v[static_cast<std::size_t>(c)];
}

timing_stats summarize(const histogram_counts& h) {
  return {h.count, h.average(), h.max_ns, h.quantile(0.5), h.quantile(0.99)};
}

double rate(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

} // namespace

metrics_store::cumulative metrics_store::read(const metric_sources& src) {
  cumulative c;
  c.counters = src.counters.snapshot();
  c.load = src.load_time.snapshot();
  c.tier1 = src.tier1_time.snapshot();
  c.source = src.source_time.snapshot();
  c.write = src.write_time.snapshot();
  return c;
}

metrics_store::cumulative metrics_store::minus(const cumulative& now, const cumulative& base) {
  cumulative d;
  for (std::size_t i = 0; i < counter_count; ++i)
    d.counters[i] = now.counters[i] - base.counters[i];
  d.load = now.load.minus(base.load);
  d.tier1 = now.tier1.minus(base.tier1);
  d.source = now.source.minus(base.source);
  d.write = now.write.minus(base.write);
  // The live maxima belong to the window being filled.
  d.load.max_ns = now.load.max_ns;
  d.tier1.max_ns = now.tier1.max_ns;
  d.source.max_ns = now.source.max_ns;
  d.write.max_ns = now.write.max_ns;
  return d;
}

void metrics_store::add(cumulative& into, const cumulative& w) {
  for (std::size_t i = 0; i < counter_count; ++i)
    into.counters[i] += w.counters[i];
  into.load += w.load;
  into.tier1 += w.tier1;
  into.source += w.source;
  into.write += w.write;
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
  w.passivations = at(v, counter::passivations);
  w.load_time = summarize(c.load);
  w.tier1_time = summarize(c.tier1);
  w.source_time = summarize(c.source);
  w.write_time = summarize(c.write);
  return w;
}

void metrics_store::fold(metric_sources& src) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = read(src);
  auto window = minus(now, base_);
  // Close the window's maxima: the next window starts from zero.
  window.load.max_ns = src.load_time.take_window_max();
  window.tier1.max_ns = src.tier1_time.take_window_max();
  window.source.max_ns = src.source_time.take_window_max();
  window.write.max_ns = src.write_time.take_window_max();
  max_so_far_.load.max_ns = std::max(max_so_far_.load.max_ns, window.load.max_ns);
  max_so_far_.tier1.max_ns = std::max(max_so_far_.tier1.max_ns, window.tier1.max_ns);
  max_so_far_.source.max_ns = std::max(max_so_far_.source.max_ns, window.source.max_ns);
  max_so_far_.write.max_ns = std::max(max_so_far_.write.max_ns, window.write.max_ns);
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
  total.load.max_ns = std::max(max_so_far_.load.max_ns, now.load.max_ns);
  total.tier1.max_ns = std::max(max_so_far_.tier1.max_ns, now.tier1.max_ns);
  total.source.max_ns = std::max(max_so_far_.source.max_ns, now.source.max_ns);
  total.write.max_ns = std::max(max_so_far_.write.max_ns, now.write.max_ns);
  s.total = to_window(total);
  s.gauges.loads_in_flight = src.loads_in_flight.load();
  s.gauges.parked_waiters = src.parked_waiters.load();
  s.gauges.dirty_backlog = src.dirty_backlog.load();
  s.gauges.resident_actors = src.resident_actors.load();
  s.gauges.largest_mailbox = src.largest_mailbox.load();
  s.gauges.entries = entries;
  return s;
}

} // namespace corral
