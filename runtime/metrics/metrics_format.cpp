#include <corral/runtime/metrics/metrics_format.hpp>

#include <boost/json.hpp>

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <system_error>

namespace corral {
namespace {

namespace json = boost::json;

// --- JSON ------------------------------------------------------------------------------------

json::value rate_json(double x) {
  if (std::isfinite(x))
    return x;
  return nullptr;
}

json::object timing_json(const timing_stats& t) {
  json::object o;
  o["count"] = t.count;
  o["avg_ns"] = t.avg_ns;
  o["max_ns"] = t.max_ns;
  o["p50_ns"] = t.p50_ns;
  o["p99_ns"] = t.p99_ns;
  o["sum_ns"] = t.sum_ns;
  return o;
}

json::object window_json(const window_stats& w) {
  json::object o;
  o["requests"] = w.requests;
  o["hits"] = w.hits;
  o["misses"] = w.misses;
  o["errors"] = w.errors;
  o["hit_rate"] = rate_json(w.hit_rate);
  o["miss_rate"] = rate_json(w.miss_rate);
  o["tier1_hit_rate"] = rate_json(w.tier1_hit_rate);
  o["error_rate"] = rate_json(w.error_rate);
  o["stale_serves"] = w.stale_serves;
  o["negative_hits"] = w.negative_hits;
  o["timeouts"] = w.timeouts;
  o["manual_misses"] = w.manual_misses;
  o["puts"] = w.puts;
  o["loads"] = w.loads;
  o["load_errors"] = w.load_errors;
  o["refreshes"] = w.refreshes;
  o["tier1_hits"] = w.tier1_hits;
  o["tier1_misses"] = w.tier1_misses;
  o["tier1_errors"] = w.tier1_errors;
  o["source_loads"] = w.source_loads;
  o["source_errors"] = w.source_errors;
  o["writes"] = w.writes;
  o["write_failures"] = w.write_failures;
  o["dead_letters"] = w.dead_letters;
  o["evictions"] = w.evictions;
  o["weight_evictions"] = w.weight_evictions;
  o["expirations"] = w.expirations;
  o["admission_rejections"] = w.admission_rejections;
  o["abandoned_loads"] = w.abandoned_loads;
  o["bulkhead_rejections"] = w.bulkhead_rejections;
  o["passivations"] = w.passivations;
  o["load_time"] = timing_json(w.load_time);
  o["tier1_time"] = timing_json(w.tier1_time);
  o["source_time"] = timing_json(w.source_time);
  o["write_time"] = timing_json(w.write_time);
  return o;
}

json::object gauges_json(const gauge_stats& g) {
  json::object o;
  o["loads_in_flight"] = g.loads_in_flight;
  o["parked_waiters"] = g.parked_waiters;
  o["dirty_backlog"] = g.dirty_backlog;
  o["resident_actors"] = g.resident_actors;
  o["largest_mailbox"] = g.largest_mailbox;
  o["entries"] = g.entries;
  o["weight"] = g.weight;
  o["loads_queued"] = g.loads_queued;
  o["abandoned_running"] = g.abandoned_running;
  return o;
}

json::object snapshot_json(const metrics_snapshot& s) {
  json::object o;
  o["cache"] = s.cache;
  o["cycle_ns"] = s.cycle_ns;
  o["windows"] = s.windows;
  o["completed_windows"] = s.completed_windows;
  o["last"] = window_json(s.last);
  o["cycle"] = window_json(s.cycle);
  o["total"] = window_json(s.total);
  o["gauges"] = gauges_json(s.gauges);
  return o;
}

// --- Prometheus text format 0.0.4 ------------------------------------------------------------

enum class metric_type { counter, gauge, histogram };

struct label {
  const char* name;
  std::string_view value;
};

// `# HELP` text: backslash and line feed escaped.
void append_help_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// Label values: backslash, double quote and line feed escaped.
void append_label_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_value(std::string& out, std::uint64_t x) {
  out += std::to_string(x);
}

// Shortest round-trip form ("0", "0.81", "1.5e-07"), which Go's ParseFloat reads back exactly.
void append_value(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
  if (ec != std::errc{}) { // cannot happen with 64 bytes; keep a valid value regardless
    out += "NaN";
    return;
  }
  out.append(buf, end);
}

// Writes the samples of one family for one cache; the cache label comes first on every sample.
class sample_writer {
public:
  sample_writer(std::string& out, std::string_view family) : out_(out), family_(family) {}

  void set_cache(std::string_view name) {
    cache_.clear();
    append_label_escaped(cache_, name);
  }

  template <class T> void sample(std::initializer_list<label> extra, T value) {
    sample("", extra, value);
  }

  /// A sample named family + suffix ("_bucket", "_sum", "_count" of a histogram).
  template <class T>
  void sample(std::string_view suffix, std::initializer_list<label> extra, T value) {
    out_ += family_;
    out_ += suffix;
    out_ += "{cache=\"";
    out_ += cache_;
    out_ += '"';
    for (const auto& l : extra) {
      out_ += ',';
      out_ += l.name;
      out_ += "=\"";
      append_label_escaped(out_, l.value);
      out_ += '"';
    }
    out_ += "} ";
    append_value(out_, value);
    out_ += '\n';
  }

private:
  std::string& out_;
  std::string_view family_;
  std::string cache_; // escaped
};

using sample_fn = void (*)(const metrics_snapshot&, sample_writer&);

// Accessors, one per shape of family; `Field` picks the member.

// A counter over the "total" window.
template <auto Field> void from_total(const metrics_snapshot& s, sample_writer& w) {
  w.sample({}, s.total.*Field);
}

// A saturation gauge.
template <auto Field> void from_gauges(const metrics_snapshot& s, sample_writer& w) {
  w.sample({}, s.gauges.*Field);
}

// A latency histogram in seconds over the "total" window: cumulative since start, so buckets
// only grow from one scrape to the next. `le` bounds are edges of the recorded log buckets
// (latency_bound_ns), so each bucket is exact; "+Inf" is the count.
template <auto Field> void histogram(const metrics_snapshot& s, sample_writer& w) {
  constexpr double ns_per_second = 1e9;
  const timing_stats& t = s.total.*Field;
  std::string le;
  for (std::size_t i = 0; i < latency_bound_count; ++i) {
    le.clear();
    append_value(le, static_cast<double>(latency_bound_ns(i)) / ns_per_second);
    w.sample("_bucket", {{"le", le}}, t.below[i]);
  }
  w.sample("_bucket", {{"le", "+Inf"}}, t.count);
  w.sample("_sum", {}, static_cast<double>(t.sum_ns) / ns_per_second);
  w.sample("_count", {}, t.count);
}

struct family {
  const char* name;
  const char* help;
  metric_type type;
  sample_fn samples;
};

constexpr auto counter = metric_type::counter;
constexpr auto gauge = metric_type::gauge;
constexpr auto histogram_type = metric_type::histogram;

// Adding a metric is one line here.
const family families[] = {
    // Counters since start.
    {"corral_requests_total", "Requests answered (hits + misses + errors).", counter,
     &from_total<&window_stats::requests>},
    {"corral_hits_total", "Requests served from memory (fresh, cached not-found or stale).",
     counter, &from_total<&window_stats::hits>},
    {"corral_misses_total", "Requests that waited for a load.", counter,
     &from_total<&window_stats::misses>},
    {"corral_errors_total", "Requests answered with an error, timeouts included.", counter,
     &from_total<&window_stats::errors>},
    {"corral_stale_serves_total", "Stale values served while revalidating or on error.", counter,
     &from_total<&window_stats::stale_serves>},
    {"corral_negative_hits_total", "Cached not-found answers served.", counter,
     &from_total<&window_stats::negative_hits>},
    {"corral_timeouts_total", "Requests answered with a timeout.", counter,
     &from_total<&window_stats::timeouts>},
    {"corral_manual_misses_total", "Entries invalidated on request.", counter,
     &from_total<&window_stats::manual_misses>},
    {"corral_puts_total", "Values put into the cache.", counter, &from_total<&window_stats::puts>},
    {"corral_loads_total", "Loads started, one per single flight.", counter,
     &from_total<&window_stats::loads>},
    {"corral_load_errors_total", "Loads that failed.", counter,
     &from_total<&window_stats::load_errors>},
    {"corral_refreshes_total", "Background reloads of stale entries.", counter,
     &from_total<&window_stats::refreshes>},
    {"corral_tier1_hits_total", "Two-tier loads answered by tier 1.", counter,
     &from_total<&window_stats::tier1_hits>},
    {"corral_tier1_misses_total", "Two-tier loads that tier 1 could not answer.", counter,
     &from_total<&window_stats::tier1_misses>},
    {"corral_tier1_errors_total", "Tier-1 calls that failed.", counter,
     &from_total<&window_stats::tier1_errors>},
    {"corral_source_loads_total", "Successful source loads.", counter,
     &from_total<&window_stats::source_loads>},
    {"corral_source_errors_total", "Source loads that failed.", counter,
     &from_total<&window_stats::source_errors>},
    {"corral_writes_total", "Write-behind writes.", counter, &from_total<&window_stats::writes>},
    {"corral_write_failures_total", "Write-behind writes that failed.", counter,
     &from_total<&window_stats::write_failures>},
    {"corral_dead_letters_total", "Writes given up on.", counter,
     &from_total<&window_stats::dead_letters>},
    {"corral_evictions_total", "Entries evicted to respect max_entries.", counter,
     &from_total<&window_stats::evictions>},
    {"corral_weight_evictions_total", "Entries evicted to respect max_weight.", counter,
     &from_total<&window_stats::weight_evictions>},
    {"corral_expirations_total", "Expired entries reclaimed without a read.", counter,
     &from_total<&window_stats::expirations>},
    {"corral_admission_rejections_total", "New entries evicted at once as colder than the victim.",
     counter, &from_total<&window_stats::admission_rejections>},
    {"corral_abandoned_loads_total", "Loads that ran past load_timeout.", counter,
     &from_total<&window_stats::abandoned_loads>},
    {"corral_bulkhead_rejections_total", "Loads refused because the bulkhead queue was full.",
     counter, &from_total<&window_stats::bulkhead_rejections>},
    {"corral_passivations_total", "Key actors passivated.", counter,
     &from_total<&window_stats::passivations>},
    // Saturation now.
    {"corral_loads_in_flight", "Loads running now.", gauge,
     &from_gauges<&gauge_stats::loads_in_flight>},
    {"corral_parked_waiters", "Requests waiting for a load now.", gauge,
     &from_gauges<&gauge_stats::parked_waiters>},
    {"corral_dirty_backlog", "Entries waiting to be written behind.", gauge,
     &from_gauges<&gauge_stats::dirty_backlog>},
    {"corral_resident_actors", "Key actors resident in memory.", gauge,
     &from_gauges<&gauge_stats::resident_actors>},
    {"corral_largest_mailbox",
     "Messages the supervisor had taken in and not handled at its last housekeeping pass.", gauge,
     &from_gauges<&gauge_stats::largest_mailbox>},
    {"corral_entries", "Entries in the cache.", gauge, &from_gauges<&gauge_stats::entries>},
    {"corral_weight", "Sum of the entries' weights (the measure max_weight bounds).", gauge,
     &from_gauges<&gauge_stats::weight>},
    {"corral_loads_queued", "Loads waiting in the cache's bulkhead queue.", gauge,
     &from_gauges<&gauge_stats::loads_queued>},
    {"corral_abandoned_loads_running", "Loads past load_timeout still holding a loader thread.",
     gauge, &from_gauges<&gauge_stats::abandoned_running>},
    // Latency distributions since start.
    {"corral_load_duration_seconds", "Whole load latency (both tiers).", histogram_type,
     &histogram<&window_stats::load_time>},
    {"corral_tier1_duration_seconds", "Tier-1 call latency.", histogram_type,
     &histogram<&window_stats::tier1_time>},
    {"corral_source_duration_seconds", "Source call latency.", histogram_type,
     &histogram<&window_stats::source_time>},
    {"corral_write_duration_seconds",
     "Write-behind batch latency (one transaction each, retries included).", histogram_type,
     &histogram<&window_stats::write_time>},
};

// --- Table -----------------------------------------------------------------------------------

// "1s", "250ms", "1500us", "10ns": the largest unit that divides `ns`.
std::string format_ns(std::uint64_t ns) {
  if (ns == 0)
    return "0";
  if (ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0)
    return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0)
    return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

void append_row(std::string& out, const char* name, const window_stats& w) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%-6s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
                " %6.1f %6.1f %10" PRIu64 " %12.3f %12.3f\n",
                name, w.requests, w.hits, w.misses, w.errors, w.hit_rate * 100, w.error_rate * 100,
                w.loads, static_cast<double>(w.load_time.avg_ns) / 1e6,
                static_cast<double>(w.load_time.p99_ns) / 1e6);
  out += buf;
}

} // namespace

std::string to_json(const metrics_snapshot& s) {
  return json::serialize(snapshot_json(s));
}

std::string to_json(const std::vector<metrics_snapshot>& snapshots) {
  json::array a;
  a.reserve(snapshots.size());
  for (const auto& s : snapshots)
    a.emplace_back(snapshot_json(s));
  return json::serialize(a);
}

std::string to_prometheus(const std::vector<metrics_snapshot>& caches) {
  std::string out;
  if (caches.empty())
    return out;
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help_escaped(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += f.type == metric_type::counter ? " counter\n"
           : f.type == metric_type::gauge ? " gauge\n"
                                          : " histogram\n";
    sample_writer w{out, f.name};
    for (const auto& s : caches) {
      w.set_cache(s.cache);
      f.samples(s, w);
    }
  }
  return out;
}

std::string format_table(const metrics_snapshot& s) {
  std::string out = "cache \"" + s.cache + "\": window " + format_ns(s.cycle_ns) + " x " +
                    std::to_string(s.windows) + ", " + std::to_string(s.completed_windows) +
                    " completed\n";
  out += "window   requests       hits     misses     errors   hit%   err%      loads "
         " load avg ms  load p99 ms\n";
  append_row(out, "last", s.last);
  append_row(out, "cycle", s.cycle);
  append_row(out, "total", s.total);
  const auto& g = s.gauges;
  out += "now: " + std::to_string(g.loads_in_flight) + " loading, " +
         std::to_string(g.parked_waiters) + " waiting, " + std::to_string(g.dirty_backlog) +
         " dirty, " + std::to_string(g.resident_actors) + " actors, " + std::to_string(g.entries) +
         " entries, mailbox " + std::to_string(g.largest_mailbox) + "\n";
  return out;
}

} // namespace corral
