// Renderings of metrics snapshots: JSON for tools, Prometheus text for scrapers, a table for
// humans.
#pragma once

#include <corral/runtime/metrics/metrics.hpp>

#include <string>
#include <vector>

namespace corral {

/// One JSON object with every field of the snapshot under its C++ name:
/// {"cache", "cycle_ns", "windows", "completed_windows", "last", "cycle", "total", "gauges"},
/// where each window holds every window_stats field (timings as objects with count, avg_ns,
/// max_ns, p50_ns, p99_ns, sum_ns; the cumulative buckets `below` are Prometheus' business) and
/// "gauges" every gauge_stats field. Counters are JSON integers, rates JSON numbers (a non-finite
/// rate, which the runtime never produces, becomes null).
std::string to_json(const metrics_snapshot& s);

/// A JSON array of to_json(snapshot) objects, in order.
std::string to_json(const std::vector<metrics_snapshot>& snapshots);

/// The Prometheus text exposition format 0.0.4 (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`): per metric family one `# HELP` and one `# TYPE`
/// line followed by its samples, every sample labelled cache="<name>" first. Everything is
/// cumulative since start (the "total" window), so that rate() and histogram_quantile() work
/// across scrapes: counters (`corral_*_total`), saturation gauges read now, and the latencies
/// as histograms (`corral_*_duration_seconds` with `_bucket{le=...}`, `_sum`, `_count`; `le`
/// bounds are the powers of two latency_bound_ns, ~1 µs to ~69 s, plus "+Inf"). The runtime's
/// own windows ("last", "cycle") and quantiles are left to to_json and format_table: PromQL
/// derives them from these series. Cache names must be distinct (runtime_config guarantees it),
/// otherwise samples would repeat. No caches yields an empty string; otherwise every line, the
/// last included, ends with '\n'.
std::string to_prometheus(const std::vector<metrics_snapshot>& caches);

/// A compact fixed-width table for printing once per cycle: a header line naming the cache,
/// then a column header and rows last / cycle / total with requests, hits, misses, errors,
/// hit%, err%, loads, load avg ms and load p99 ms. Ends with '\n'.
std::string format_table(const metrics_snapshot& s);

} // namespace corral
