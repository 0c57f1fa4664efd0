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
/// max_ns, p50_ns, p99_ns) and "gauges" every gauge_stats field. Counters are JSON integers,
/// rates JSON numbers (a non-finite rate, which the runtime never produces, becomes null).
std::string to_json(const metrics_snapshot& s);

/// A JSON array of to_json(snapshot) objects, in order.
std::string to_json(const std::vector<metrics_snapshot>& snapshots);

/// The Prometheus text exposition format 0.0.4 (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`): per metric family one `# HELP` and one `# TYPE`
/// line followed by one sample per cache (and per window / stat where the family has those
/// labels), every sample labelled cache="<name>". Counters (`_total`) come from the "total"
/// window, corral_window_* gauges from the "last" and "cycle" windows, corral_*_seconds timing
/// gauges (stat="avg"|"max"|"p50"|"p99") from the "cycle" and "total" windows. Cache names must
/// be distinct (runtime_config guarantees it), otherwise samples would repeat. No caches yields
/// an empty string; otherwise every line, the last included, ends with '\n'.
std::string to_prometheus(const std::vector<metrics_snapshot>& caches);

/// A compact fixed-width table for printing once per cycle: a header line naming the cache,
/// then a column header and rows last / cycle / total with requests, hits, misses, errors,
/// hit%, err%, loads, load avg ms and load p99 ms. Ends with '\n'.
std::string format_table(const metrics_snapshot& s);

} // namespace corral
