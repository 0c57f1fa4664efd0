#include <corral/runtime/metrics/metrics.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <exception>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using Catch::Matchers::Contains;
using corral::gauge_stats;
using corral::metrics_snapshot;
using corral::timing_stats;
using corral::window_stats;

namespace {

namespace json = boost::json;

// A cache name that needs escaping both in JSON and in Prometheus label values.
const std::string weird_name = "we\"ird\\cache";

const std::pair<const char*, std::uint64_t window_stats::*> window_counters[] = {
    {"requests", &window_stats::requests},
    {"hits", &window_stats::hits},
    {"misses", &window_stats::misses},
    {"errors", &window_stats::errors},
    {"stale_serves", &window_stats::stale_serves},
    {"negative_hits", &window_stats::negative_hits},
    {"timeouts", &window_stats::timeouts},
    {"manual_misses", &window_stats::manual_misses},
    {"puts", &window_stats::puts},
    {"loads", &window_stats::loads},
    {"load_errors", &window_stats::load_errors},
    {"refreshes", &window_stats::refreshes},
    {"tier1_hits", &window_stats::tier1_hits},
    {"tier1_misses", &window_stats::tier1_misses},
    {"tier1_errors", &window_stats::tier1_errors},
    {"source_loads", &window_stats::source_loads},
    {"source_errors", &window_stats::source_errors},
    {"writes", &window_stats::writes},
    {"write_failures", &window_stats::write_failures},
    {"dead_letters", &window_stats::dead_letters},
    {"evictions", &window_stats::evictions},
    {"weight_evictions", &window_stats::weight_evictions},
    {"expirations", &window_stats::expirations},
    {"admission_rejections", &window_stats::admission_rejections},
    {"abandoned_loads", &window_stats::abandoned_loads},
    {"bulkhead_rejections", &window_stats::bulkhead_rejections},
    {"passivations", &window_stats::passivations},
};

const std::pair<const char*, double window_stats::*> window_rates[] = {
    {"hit_rate", &window_stats::hit_rate},
    {"miss_rate", &window_stats::miss_rate},
    {"tier1_hit_rate", &window_stats::tier1_hit_rate},
    {"error_rate", &window_stats::error_rate},
};

const std::pair<const char*, timing_stats window_stats::*> window_timings[] = {
    {"load_time", &window_stats::load_time},
    {"tier1_time", &window_stats::tier1_time},
    {"source_time", &window_stats::source_time},
    {"write_time", &window_stats::write_time},
};

const std::pair<const char*, std::uint64_t timing_stats::*> timing_fields[] = {
    {"count", &timing_stats::count},   {"avg_ns", &timing_stats::avg_ns},
    {"max_ns", &timing_stats::max_ns}, {"p50_ns", &timing_stats::p50_ns},
    {"p99_ns", &timing_stats::p99_ns}, {"sum_ns", &timing_stats::sum_ns},
};

const std::pair<const char*, std::uint64_t gauge_stats::*> gauge_fields[] = {
    {"loads_in_flight", &gauge_stats::loads_in_flight},
    {"parked_waiters", &gauge_stats::parked_waiters},
    {"dirty_backlog", &gauge_stats::dirty_backlog},
    {"resident_actors", &gauge_stats::resident_actors},
    {"largest_mailbox", &gauge_stats::largest_mailbox},
    {"entries", &gauge_stats::entries},
    {"weight", &gauge_stats::weight},
    {"loads_queued", &gauge_stats::loads_queued},
    {"abandoned_running", &gauge_stats::abandoned_running},
};

// Every field distinct: counters base+1, base+2, ...; timings base+1000*k+...; the request
// partition and its rates are set consistently afterwards.
window_stats make_window(std::uint64_t base, std::uint64_t requests, std::uint64_t hits,
                         std::uint64_t misses, std::uint64_t errors) {
  window_stats w;
  std::uint64_t i = 0;
  for (const auto& [name, field] : window_counters)
    w.*field = base + ++i;
  std::uint64_t k = 0;
  for (const auto& [name, field] : window_timings) {
    ++k;
    std::uint64_t j = 0;
    for (const auto& [tname, tfield] : timing_fields)
      (w.*field).*tfield = base * 1'000'000 + k * 10'000 + ++j * 1'001;
  }
  w.requests = requests;
  w.hits = hits;
  w.misses = misses;
  w.errors = errors;
  w.hit_rate = requests ? static_cast<double>(hits) / static_cast<double>(requests) : 0;
  w.miss_rate = requests ? static_cast<double>(misses) / static_cast<double>(requests) : 0;
  w.error_rate = requests ? static_cast<double>(errors) / static_cast<double>(requests) : 0;
  return w;
}

metrics_snapshot make_snapshot() {
  metrics_snapshot s;
  s.cache = weird_name;
  s.cycle_ns = 1'000'000'000;
  s.windows = 10;
  s.completed_windows = 37;
  s.last = make_window(100, 7, 5, 1, 1);
  s.cycle = make_window(200, 40, 30, 6, 4);
  s.total = make_window(300, 100, 81, 15, 4);
  s.total.load_time.avg_ns = 1'234'000;
  s.total.load_time.p99_ns = 5'678'000;
  // A cumulative histogram: 5 values under 2^14 ns, 42 under 2^20 ns, all 60 under 2^30 ns.
  s.total.load_time.count = 60;
  s.total.load_time.sum_ns = 2'500'000'000;
  for (std::size_t i = 0; i < corral::latency_bound_count; ++i)
    s.total.load_time.below[i] = i < 4 ? 0 : i < 10 ? 5 : i < 20 ? 42 : 60;
  s.gauges.loads_in_flight = 2;
  s.gauges.parked_waiters = 3;
  s.gauges.dirty_backlog = 4;
  s.gauges.resident_actors = 555;
  s.gauges.largest_mailbox = 6;
  s.gauges.entries = 7777;
  s.gauges.weight = 88;
  s.gauges.loads_queued = 9;
  s.gauges.abandoned_running = 11;
  return s;
}

metrics_snapshot make_plain_snapshot() {
  metrics_snapshot s;
  s.cache = "plain";
  s.cycle_ns = 250'000'000;
  s.windows = 4;
  s.last = make_window(400, 0, 0, 0, 0);
  s.cycle = make_window(500, 0, 0, 0, 0);
  s.total = make_window(600, 3, 3, 0, 0);
  return s;
}

std::uint64_t as_u64(const json::value& v) {
  return json::value_to<std::uint64_t>(v);
}

void check_window_json(const json::value& v, const window_stats& w) {
  const auto& o = v.as_object();
  CHECK(o.size() ==
        std::size(window_counters) + std::size(window_rates) + std::size(window_timings));
  for (const auto& [name, field] : window_counters) {
    INFO(name);
    REQUIRE(o.contains(name));
    CHECK(as_u64(o.at(name)) == w.*field);
  }
  for (const auto& [name, field] : window_rates) {
    INFO(name);
    REQUIRE(o.contains(name));
    CHECK(json::value_to<double>(o.at(name)) == Approx(w.*field));
  }
  for (const auto& [name, field] : window_timings) {
    INFO(name);
    REQUIRE(o.contains(name));
    const auto& t = o.at(name).as_object();
    CHECK(t.size() == std::size(timing_fields));
    for (const auto& [tname, tfield] : timing_fields) {
      INFO(tname);
      REQUIRE(t.contains(tname));
      CHECK(as_u64(t.at(tname)) == (w.*field).*tfield);
    }
  }
}

void check_snapshot_json(const json::value& v, const metrics_snapshot& s) {
  const auto& o = v.as_object();
  CHECK(o.size() == 8);
  CHECK(json::value_to<std::string>(o.at("cache")) == s.cache);
  CHECK(as_u64(o.at("cycle_ns")) == s.cycle_ns);
  CHECK(as_u64(o.at("windows")) == s.windows);
  CHECK(as_u64(o.at("completed_windows")) == s.completed_windows);
  {
    INFO("last");
    check_window_json(o.at("last"), s.last);
  }
  {
    INFO("cycle");
    check_window_json(o.at("cycle"), s.cycle);
  }
  {
    INFO("total");
    check_window_json(o.at("total"), s.total);
  }
  const auto& g = o.at("gauges").as_object();
  CHECK(g.size() == std::size(gauge_fields));
  for (const auto& [name, field] : gauge_fields) {
    INFO(name);
    REQUIRE(g.contains(name));
    CHECK(as_u64(g.at(name)) == s.gauges.*field);
  }
}

// --- A strict checker for the Prometheus text format 0.0.4 -----------------------------------

struct sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels; // unescaped, in order
  double value = 0;
};

struct exposition {
  std::vector<std::pair<std::string, std::string>> families; // name, type; in order
  std::map<std::string, std::string> type_of;
  std::vector<sample> samples;
  // "name{l1="v1",...}" exactly as printed -> value
  std::map<std::string, double> by_series;
};

const std::string metric_name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const std::string label_name = "[a-zA-Z_][a-zA-Z0-9_]*";
const std::string escaped_value = R"((?:[^"\\\n]|\\[\\"n])*)";
const std::regex help_re("# HELP (" + metric_name + R"() ((?:[^\\\n]|\\[\\n])*))");
const std::regex type_re("# TYPE (" + metric_name + ") (counter|gauge|histogram)");
const std::regex sample_re("(" + metric_name + ")(\\{(" + label_name + "=\"" + escaped_value +
                           "\"(?:," + label_name + "=\"" + escaped_value + "\")*)\\})? (\\S+)");
const std::regex label_re("(" + label_name + ")=\"(" + escaped_value + ")\"");
// Go's strconv.ParseFloat as Prometheus uses it (no hex floats, no underscores here).
const std::regex
    go_float_re(R"([+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Inf)|NaN)");

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

// Histogram rules: per series (labels other than le) buckets with increasing le, cumulative
// counts that never decrease, a last bucket le="+Inf" equal to _count, and a _sum.
std::string check_histograms(const exposition& e) {
  struct series_state {
    double last_le = -1, last_count = -1;
    bool inf = false, has_sum = false, has_count = false;
    double inf_count = 0, count = 0;
  };
  std::map<std::string, series_state> all;
  auto ends_with = [](const std::string& a, const std::string& b) {
    return a.size() > b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0;
  };
  for (const auto& smp : e.samples) {
    std::string family, key;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (ends_with(smp.name, suffix)) {
        auto f = smp.name.substr(0, smp.name.size() - std::string(suffix).size());
        auto t = e.type_of.find(f);
        if (t != e.type_of.end() && t->second == "histogram")
          family = f;
      }
    if (family.empty())
      continue;
    std::string le;
    key = family;
    for (const auto& [n, v] : smp.labels) {
      if (n == "le")
        le = v;
      else
        key += "," + n + "=" + v;
    }
    auto& st = all[key];
    if (ends_with(smp.name, "_bucket")) {
      if (le.empty())
        return key + ": bucket without le";
      if (st.inf)
        return key + ": bucket after le=\"+Inf\"";
      const double bound = le == "+Inf" ? INFINITY : std::stod(le);
      if (bound <= st.last_le)
        return key + ": le not increasing at " + le;
      if (smp.value < st.last_count)
        return key + ": bucket counts decrease at le=" + le;
      st.last_le = bound;
      st.last_count = smp.value;
      if (le == "+Inf") {
        st.inf = true;
        st.inf_count = smp.value;
      }
    } else if (ends_with(smp.name, "_sum")) {
      st.has_sum = true;
    } else {
      st.has_count = true;
      st.count = smp.value;
    }
  }
  for (const auto& [key, st] : all) {
    if (!st.inf)
      return key + ": no le=\"+Inf\" bucket";
    if (!st.has_sum || !st.has_count)
      return key + ": _sum or _count missing";
    if (st.inf_count != st.count)
      return key + ": le=\"+Inf\" differs from _count";
  }
  return "";
}

// Returns "" if `text` is valid, else the first problem and its line number; fills `out`.
std::string check_exposition(const std::string& text, exposition& out) {
  if (text.empty())
    return "";
  if (text.back() != '\n')
    return "the output does not end with \\n";
  std::set<std::string> helped, typed, closed;
  std::set<std::string> series;
  std::string current; // the family whose lines we are in
  std::istringstream in(text.substr(0, text.size() - 1));
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) {
    return "line " + std::to_string(n) + " (" + line + "): " + why;
  };
  // Moving to family `name`: closes the current one; a closed family may not reopen.
  auto enter = [&](const std::string& name) -> bool {
    if (name == current)
      return true;
    if (closed.count(name) != 0)
      return false;
    if (!current.empty())
      closed.insert(current);
    current = name;
    return true;
  };
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (line.empty())
      return fail("empty line");
    if (line[0] == '#') {
      if (std::regex_match(line, m, help_re)) {
        if (!enter(m[1]))
          return fail("HELP for a family that is already finished");
        if (!helped.insert(m[1]).second)
          return fail("second HELP");
        if (typed.count(m[1]) != 0)
          return fail("HELP after TYPE");
      } else if (std::regex_match(line, m, type_re)) {
        if (!enter(m[1]))
          return fail("TYPE for a family that is already finished");
        if (!typed.insert(m[1]).second)
          return fail("second TYPE");
        out.families.emplace_back(m[1], m[2]);
        out.type_of[m[1]] = m[2];
      } else {
        return fail("a comment that is neither a valid HELP nor a valid TYPE");
      }
      continue;
    }
    if (!std::regex_match(line, m, sample_re))
      return fail("not a valid sample");
    const std::string name = m[1];
    // A histogram's samples are <family>_bucket, _sum and _count.
    std::string family_name = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (name.size() > sfx.size() &&
          name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0 &&
          name.substr(0, name.size() - sfx.size()) == current &&
          out.type_of[current] == "histogram")
        family_name = current;
    }
    if (family_name != current)
      return fail("sample of a family other than the current one (" + current + ")");
    if (helped.count(family_name) == 0 || typed.count(family_name) == 0)
      return fail("sample before the family's HELP and TYPE");
    if (out.type_of[current] == "histogram" && family_name == name)
      return fail("histogram sample without _bucket, _sum or _count");
    sample s;
    s.name = name;
    const std::string labels = m[3];
    std::set<std::string> label_names;
    for (std::sregex_iterator it(labels.begin(), labels.end(), label_re), end; it != end; ++it) {
      if (!label_names.insert((*it)[1]).second)
        return fail("repeated label name");
      s.labels.emplace_back((*it)[1], unescape((*it)[2]));
    }
    const std::string value = m[4];
    if (!std::regex_match(value, go_float_re))
      return fail("value not in Go float syntax");
    std::size_t used = 0;
    try {
      s.value = std::stod(value, &used);
    } catch (const std::exception&) {
      return fail("value does not parse");
    }
    if (used != value.size())
      return fail("value has trailing characters");
    if (std::isnan(s.value))
      return fail("NaN");
    const std::string key = line.substr(0, line.size() - value.size() - 1);
    if (!series.insert(key).second)
      return fail("duplicate series");
    out.by_series[key] = s.value;
    out.samples.push_back(std::move(s));
  }
  for (const auto& name : helped)
    if (typed.count(name) == 0)
      return "family " + name + " has HELP but no TYPE";
  if (auto why = check_histograms(out); !why.empty())
    return why;
  for (const auto& name : typed)
    if (helped.count(name) == 0)
      return "family " + name + " has TYPE but no HELP";
  return "";
}

std::string check_exposition(const std::string& text) {
  exposition ignored;
  return check_exposition(text, ignored);
}

} // namespace

TEST_CASE("to_json writes every snapshot field and parses back", "[metrics]") {
  const auto s = make_snapshot();
  const auto text = corral::to_json(s);
  INFO(text);
  const auto v = json::parse(text);
  check_snapshot_json(v, s);
  CHECK(as_u64(v.at("total").at("hits")) == 81);
  CHECK(v.at("cycle").at("hit_rate").as_double() == Approx(0.75));
  CHECK(as_u64(v.at("gauges").at("entries")) == 7777);

  SECTION("a vector becomes an array in order") {
    const std::vector<metrics_snapshot> all{s, make_plain_snapshot()};
    const auto array = json::parse(corral::to_json(all)).as_array();
    REQUIRE(array.size() == 2);
    check_snapshot_json(array[0], all[0]);
    check_snapshot_json(array[1], all[1]);
    CHECK(corral::to_json(std::vector<metrics_snapshot>{}) == "[]");
  }
}

TEST_CASE("the exposition checker is strict", "[metrics]") {
  const std::string good = "# HELP a_total Some help.\n"
                           "# TYPE a_total counter\n"
                           "a_total{cache=\"x\\\"y\"} 1\n"
                           "# HELP b Other \\\\ help.\n"
                           "# TYPE b gauge\n"
                           "b{cache=\"x\",window=\"last\"} 0.5\n"
                           "b{cache=\"x\",window=\"cycle\"} 1.5e-07\n";
  exposition e;
  REQUIRE(check_exposition(good, e) == "");
  CHECK(e.families.size() == 2);
  CHECK(e.samples.size() == 3);
  CHECK(e.samples[0].labels.at(0).second == "x\"y");

  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na 1") != ""); // no final newline
  CHECK(check_exposition("# HELP a x\n\n# TYPE a gauge\na 1\n") != "");
  CHECK(check_exposition("# TYPE a gauge\na 1\n") != "");             // no HELP
  CHECK(check_exposition("# HELP a x\na 1\n# TYPE a gauge\n") != ""); // TYPE late
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\n# TYPE a gauge\n") != "");
  CHECK(check_exposition("# HELP a x\n# TYPE a summary\na 1\n") != "");
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\nb 1\n") != "");            // wrong family
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{c=\"\\q\"} 1\n") != ""); // bad escape
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{c=\"x\"} nan\n") != "");
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{c=\"x\"} NaN\n") != "");
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{c=\"x\"} 1 \n") != "");
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{c=\"x\"} 1\na{c=\"x\"} 2\n") != "");
  CHECK(check_exposition("# HELP 1a x\n# TYPE 1a gauge\n1a 1\n") != ""); // bad name
  CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na 1\n"
                         "# HELP b x\n# TYPE b gauge\nb 1\na 2\n") != ""); // interleaved
  CHECK(check_exposition("# a comment\n") != "");

  const std::string hist = "# HELP h_seconds x\n# TYPE h_seconds histogram\n";
  CHECK(check_exposition(hist + "h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\n"
                                "h_seconds_sum 3\nh_seconds_count 2\n") == "");
  CHECK(check_exposition(hist + "h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 3\n"
                                "h_seconds_count 3\n") != ""); // +Inf != count
  CHECK(check_exposition(hist + "h_seconds_bucket{le=\"1\"} 2\nh_seconds_bucket{le=\"+Inf\"} 1\n"
                                "h_seconds_sum 3\nh_seconds_count 1\n") != ""); // decreasing
  CHECK(check_exposition(hist + "h_seconds_bucket{le=\"1\"} 1\nh_seconds_sum 3\n"
                                "h_seconds_count 1\n") != ""); // no +Inf
  CHECK(check_exposition(hist + "h_seconds 1\n") != "");       // bare histogram sample
  CHECK(check_exposition("# HELP g x\n# TYPE g gauge\ng_sum 1\n") != "");
}

TEST_CASE("to_prometheus writes valid text format 0.0.4", "[metrics]") {
  const auto s = make_snapshot();
  const auto p = make_plain_snapshot();
  const auto text = corral::to_prometheus({s, p});
  INFO(text);
  exposition e;
  REQUIRE(check_exposition(text, e) == "");

  // Families: 27 counters, 9 gauges, 4 latency histograms.
  REQUIRE(e.families.size() == 40);
  std::size_t counters = 0, histograms = 0;
  for (const auto& [name, type] : e.families) {
    INFO(name);
    const bool total_suffix = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    CHECK(total_suffix == (type == "counter"));
    CHECK(name.rfind("corral_", 0) == 0);
    if (type == "histogram")
      CHECK(name.compare(name.size() - 17, 17, "_duration_seconds") == 0);
    counters += type == "counter";
    histograms += type == "histogram";
  }
  CHECK(counters == 27);
  CHECK(histograms == 4);
  // Per cache: 27 + 9 + 4 histograms * (27 bounds + "+Inf" + _sum + _count).
  CHECK(e.samples.size() == 2 * (27 + 9 + 4 * (corral::latency_bound_count + 3)));
  for (const auto& smp : e.samples) {
    REQUIRE(!smp.labels.empty());
    CHECK(smp.labels[0].first == "cache");
    CHECK((smp.labels[0].second == weird_name || smp.labels[0].second == "plain"));
  }

  const std::string c = R"(cache="we\"ird\\cache")";
  auto value = [&](const std::string& series) {
    INFO(series);
    REQUIRE(e.by_series.count(series) == 1);
    return e.by_series.at(series);
  };
  CHECK(value("corral_hits_total{" + c + "}") == 81);
  CHECK(value("corral_requests_total{" + c + "}") == 100);
  CHECK(value("corral_errors_total{" + c + "}") == 4);
  CHECK(value("corral_passivations_total{" + c + "}") == s.total.passivations);
  CHECK(value("corral_tier1_misses_total{" + c + "}") == s.total.tier1_misses);
  CHECK(value("corral_hits_total{cache=\"plain\"}") == 3);
  CHECK(value("corral_entries{" + c + "}") == 7777);
  CHECK(value("corral_resident_actors{" + c + "}") == 555);
  // The histogram: le bounds are 2^10 ns ... 2^36 ns in seconds, then "+Inf" = _count.
  const std::string h = "corral_load_duration_seconds";
  CHECK(value(h + "_bucket{" + c + ",le=\"1.024e-06\"}") == 0);
  CHECK(value(h + "_bucket{" + c + ",le=\"1.6384e-05\"}") == 5);    // 2^14 ns
  CHECK(value(h + "_bucket{" + c + ",le=\"0.001048576\"}") == 42);  // 2^20 ns
  CHECK(value(h + "_bucket{" + c + ",le=\"1.073741824\"}") == 60);  // 2^30 ns
  CHECK(value(h + "_bucket{" + c + ",le=\"68.719476736\"}") == 60); // 2^36 ns
  CHECK(value(h + "_bucket{" + c + ",le=\"+Inf\"}") == 60);
  CHECK(value(h + "_count{" + c + "}") == 60);
  CHECK(value(h + "_sum{" + c + "}") == 2.5);
  CHECK(value("corral_write_duration_seconds_count{cache=\"plain\"}") ==
        static_cast<double>(p.total.write_time.count));
  // The runtime's own windows and quantiles stay out of the exposition.
  CHECK_THAT(text, !Contains("window=") && !Contains("stat=") && !Contains("p99"));

  // Integers print as integers.
  CHECK_THAT(text, Contains("corral_hits_total{" + c + "} 81\n"));
  CHECK_THAT(text, Contains("corral_entries{" + c + "} 7777\n"));
  CHECK_THAT(text, Contains(h + "_count{" + c + "} 60\n"));

  CHECK(corral::to_prometheus({}) == "");
}

TEST_CASE("format_table is a readable fixed-width table", "[metrics]") {
  const auto s = make_snapshot();
  const auto table = corral::format_table(s);
  INFO(table);
  CHECK_THAT(table, Contains(weird_name));
  CHECK_THAT(table, Contains("1s x 10"));
  CHECK_THAT(table, Contains("81.0"));
  CHECK_THAT(table, Contains("1.234"));
  CHECK_THAT(table, Contains("5.678"));
  CHECK_THAT(table, Contains("7777 entries"));
  REQUIRE(table.back() == '\n');

  std::istringstream in(table);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  REQUIRE(lines.size() == 6);
  CHECK(lines[2].rfind("last ", 0) == 0);
  CHECK(lines[3].rfind("cycle ", 0) == 0);
  CHECK(lines[4].rfind("total ", 0) == 0);
  CHECK_THAT(lines[4],
             Contains(" 100 ") && Contains(" 81 ") && Contains(" 15 ") && Contains(" 4 "));
  // The column header and the rows line up.
  CHECK(lines[2].size() == lines[1].size());
  CHECK(lines[3].size() == lines[1].size());
  CHECK(lines[4].size() == lines[1].size());
}
