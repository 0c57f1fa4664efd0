#include <corral/runtime/config/config_json.hpp>

#include <corral/store/store_config.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <system_error>
#include <vector>

namespace corral {

namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw config_error(path, message);
}

// --- Describing what was found -------------------------------------------------------------

// JSON-quoted and cut short, so that a pasted blob does not swamp the message.
std::string quote(std::string_view text) {
  constexpr std::size_t max_shown = 60;
  if (text.size() <= max_shown)
    return json::serialize(json::string_view(text.data(), text.size()));
  std::size_t cut = max_shown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut; // do not split a UTF-8 sequence
  return json::serialize(json::string_view(text.data(), cut)) + "...";
}

// Shortest exact form; Boost.JSON would print 0.1 as "1E-1".
std::string format_double(double d) {
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
  std::string out(buf, end);
  if (out.find_first_of(".eEn") == std::string::npos)
    out += ".0"; // keep it a JSON double, not an integer
  return out;
}

// "string \"x\"", "number 1.5", "bool true", "null", "array", "object".
std::string describe(const json::value& v) {
  switch (v.kind()) {
  case json::kind::string:
    return "string " + quote(std::string_view(v.get_string().data(), v.get_string().size()));
  case json::kind::int64:
    return "number " + std::to_string(v.get_int64());
  case json::kind::uint64:
    return "number " + std::to_string(v.get_uint64());
  case json::kind::double_:
    return "number " + format_double(v.get_double());
  case json::kind::bool_:
    return v.get_bool() ? "bool true" : "bool false";
  case json::kind::null:
    return "null";
  case json::kind::array:
    return "array";
  case json::kind::object:
    return "object";
  }
  return "unknown";
}

// --- Durations ------------------------------------------------------------------------------

struct time_unit {
  std::string_view suffix;
  std::int64_t ns;
};

// Largest first: format_duration picks the first unit that divides exactly.
constexpr time_unit time_units[] = {
    {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
    {"ms", 1'000'000},        {"us", 1'000},         {"ns", 1},
};

constexpr std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
constexpr char json_duration_expected[] =
    "a duration such as \"250ms\", \"5s\", \"1h\" or integer milliseconds";
constexpr char text_duration_expected[] = "a duration such as \"250ms\", \"5s\" or \"1h\"";

enum class scan_result { ok, syntax, negative, overflow };

scan_result scan_duration(std::string_view text, duration& out) {
  if (text == "0") {
    out = duration{0};
    return scan_result::ok;
  }
  if (text.size() > 1 && text[0] == '-' && text[1] != '-') {
    duration ignored; // a well-formed negative deserves a clearer message than a syntax error
    auto rest = scan_duration(text.substr(1), ignored);
    return rest == scan_result::syntax ? rest : scan_result::negative;
  }
  auto number_end = std::min(text.find_first_not_of("0123456789."), text.size());
  auto number = text.substr(0, number_end);
  auto suffix = text.substr(number_end);
  auto unit = std::find_if(std::begin(time_units), std::end(time_units),
                           [&](const time_unit& u) { return u.suffix == suffix; });
  if (unit == std::end(time_units))
    return scan_result::syntax;
  auto dot = number.find('.');
  auto whole = number.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  bool bad_fraction = dot != std::string_view::npos &&
                      (fraction.empty() || fraction.find('.') != std::string_view::npos);
  if (whole.empty() || bad_fraction)
    return scan_result::syntax;
  std::uint64_t whole_value = 0;
  auto parsed = std::from_chars(whole.data(), whole.data() + whole.size(), whole_value);
  if (parsed.ec == std::errc::result_out_of_range ||
      whole_value > static_cast<std::uint64_t>(max_ns / unit->ns))
    return scan_result::overflow;
  std::int64_t total = static_cast<std::int64_t>(whole_value) * unit->ns;
  if (!fraction.empty()) {
    // Digits past the 18th are far below a nanosecond even for hours, so they are dropped to
    // keep the integer exact; long double then rounds the product to the nearest nanosecond.
    fraction = fraction.substr(0, 18);
    std::uint64_t digits = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), digits);
    auto frac_ns = std::llround(static_cast<long double>(digits) * unit->ns /
                                std::pow(10.0L, static_cast<int>(fraction.size())));
    if (total > max_ns - frac_ns)
      return scan_result::overflow;
    total += frac_ns;
  }
  out = duration{total};
  return scan_result::ok;
}

std::string duration_error(scan_result result, std::string_view expected, std::string found) {
  if (result == scan_result::negative)
    return "expected a non-negative duration, found " + found;
  if (result == scan_result::overflow)
    return "expected a duration of at most about 292 years, found " + found;
  return "expected " + std::string(expected) + ", found " + found;
}

/// A config duration past what a nanosecond count holds is also past the config's own bound, and
/// is reported as that bound (one limit in the messages, as in docs/config.md).
std::string config_duration_error(scan_result result, std::string_view expected,
                                  std::string found) {
  if (result == scan_result::overflow)
    return "expected a duration of at most 10 years, found " + found;
  return duration_error(result, expected, std::move(found));
}

duration json_duration(const json::value& v, const std::string& path) {
  if (auto* s = v.if_string()) {
    std::string_view text(s->data(), s->size());
    duration out;
    auto result = scan_duration(text, out);
    if (result == scan_result::ok)
      return out;
    std::string message = config_duration_error(result, json_duration_expected, quote(text));
    if (!text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos)
      message += " (a string needs a unit, e.g. \"" + std::string(text) + "ms\")";
    fail(path, message);
  }
  std::uint64_t ms = 0;
  if (auto* i = v.if_int64()) {
    if (*i < 0)
      fail(path, duration_error(scan_result::negative, "", describe(v)));
    ms = static_cast<std::uint64_t>(*i);
  } else if (auto* u = v.if_uint64()) {
    ms = *u;
  } else {
    fail(path, duration_error(scan_result::syntax, json_duration_expected, describe(v)));
  }
  if (ms > static_cast<std::uint64_t>(max_ns / 1'000'000))
    fail(path, config_duration_error(scan_result::overflow, "", describe(v)));
  return std::chrono::milliseconds(ms);
}

// --- Other value kinds ----------------------------------------------------------------------

std::size_t json_count(const json::value& v, const std::string& path, std::size_t min) {
  std::string expected = min == 0 ? "a non-negative integer" : "a positive integer";
  std::uint64_t n = 0;
  if (auto* i = v.if_int64(); i && *i >= 0)
    n = static_cast<std::uint64_t>(*i);
  else if (auto* u = v.if_uint64())
    n = *u;
  else
    fail(path, "expected " + expected + ", found " + describe(v));
  if (n < min || n > std::numeric_limits<std::size_t>::max())
    fail(path, "expected " + expected + ", found " + describe(v));
  return static_cast<std::size_t>(n);
}

double json_fraction(const json::value& v, const std::string& path) {
  if (!v.is_number())
    fail(path, "expected a number in [0, 1), found " + describe(v));
  double d = v.to_number<double>();
  if (!(d >= 0.0 && d < 1.0))
    fail(path, "expected a number in [0, 1), found " + describe(v));
  return d;
}

std::string json_string(const json::value& v, const std::string& path) {
  if (!v.is_string())
    fail(path, "expected a string, found " + describe(v));
  return std::string(v.get_string().data(), v.get_string().size());
}

// --- Key tables: one per object kind; adding a key means adding one line -------------------

template <class Config> struct key_handler {
  std::string_view key;
  std::string expected; // for the "required key is missing" message
  bool required;
  std::function<void(const json::value&, const std::string& path, Config&)> read;
  std::function<json::value(const Config&)> write;
};

template <class Config>
key_handler<Config> string_key(std::string_view key, std::string Config::*member,
                               bool required = false) {
  return {key, "a string", required,
          [=](const json::value& v, const std::string& path, Config& c) {
            c.*member = json_string(v, path);
          },
          [=](const Config& c) { return json::value(c.*member); }};
}

template <class Config>
key_handler<Config> duration_key(std::string_view key, duration Config::*member) {
  return {key, json_duration_expected, false,
          [=](const json::value& v, const std::string& path, Config& c) {
            c.*member = json_duration(v, path);
          },
          [=](const Config& c) { return json::value(format_duration(c.*member)); }};
}

template <class Config>
key_handler<Config> count_key(std::string_view key, std::size_t Config::*member,
                              std::size_t min = 0) {
  return {key, min == 0 ? "a non-negative integer" : "a positive integer", false,
          [=](const json::value& v, const std::string& path, Config& c) {
            c.*member = json_count(v, path, min);
          },
          [=](const Config& c) { return json::value(static_cast<std::uint64_t>(c.*member)); }};
}

template <class Config> key_handler<Config> bool_key(std::string_view key, bool Config::*member) {
  return {key, "true or false", false,
          [=](const json::value& v, const std::string& path, Config& c) {
            if (!v.is_bool())
              fail(path, "expected true or false, found " + describe(v));
            c.*member = v.get_bool();
          },
          [=](const Config& c) { return json::value(c.*member); }};
}

/// A write-behind store: an object checked now by make_store (store/store_config.hpp), so that
/// a bad store config fails at parse time with its path; null = none.
template <class Config>
key_handler<Config> store_key(std::string_view key, store_spec Config::*member) {
  return {key, "a store object such as {\"type\": \"sqlite\", \"path\": \"corral.db\"}", false,
          [=](const json::value& v, const std::string& path, Config& c) {
            if (!v.is_null() && !v.is_object())
              fail(path, "expected a store object, found " + describe(v));
            if (v.is_object())
              make_store(v, path);
            c.*member = v;
          },
          [=](const Config& c) { return (c.*member).json(); }};
}

template <class Config>
key_handler<Config> non_negative_number_key(std::string_view key, double Config::*member) {
  return {key, "a non-negative number", false,
          [=](const json::value& v, const std::string& path, Config& c) {
            if (!v.is_number())
              fail(path, "expected a non-negative number, found " + describe(v));
            auto d = v.to_number<double>();
            if (!(d >= 0.0 && d <= 1e6))
              fail(path, "expected a non-negative number (at most 1e6), found " + describe(v));
            c.*member = d;
          },
          [=](const Config& c) { return json::value(c.*member); }};
}

template <class Config>
key_handler<Config> fraction_key(std::string_view key, double Config::*member) {
  return {key, "a number in [0, 1)", false,
          [=](const json::value& v, const std::string& path, Config& c) {
            c.*member = json_fraction(v, path);
          },
          [=](const Config& c) { return json::value(c.*member); }};
}

const std::vector<key_handler<cache_config>>& cache_keys() {
  using c = cache_config;
  static const std::vector<key_handler<c>> keys = {
      string_key("name", &c::name, true),
      string_key("loader", &c::loader),
      string_key("tier1", &c::tier1),
      duration_key("ttl", &c::ttl),
      duration_key("negative_ttl", &c::negative_ttl),
      duration_key("stale_while_revalidate", &c::stale_while_revalidate),
      duration_key("stale_if_error", &c::stale_if_error),
      duration_key("refresh_after", &c::refresh_after),
      fraction_key("ttl_jitter", &c::ttl_jitter),
      non_negative_number_key("xfetch_beta", &c::xfetch_beta),
      duration_key("load_timeout", &c::load_timeout),
      count_key("max_concurrent_loads", &c::max_concurrent_loads),
      count_key("max_queued_loads", &c::max_queued_loads),
      duration_key("error_backoff", &c::error_backoff),
      duration_key("error_backoff_max", &c::error_backoff_max),
      duration_key("batch_window", &c::batch_window),
      count_key("batch_size", &c::batch_size),
      store_key("store", &c::store),
      duration_key("write_interval", &c::write_interval),
      count_key("write_batch_size", &c::write_batch_size),
      count_key("max_dirty", &c::max_dirty),
      duration_key("max_dirty_wait", &c::max_dirty_wait),
      duration_key("write_retry", &c::write_retry),
      duration_key("write_retry_max", &c::write_retry_max),
      duration_key("flush_timeout", &c::flush_timeout),
      count_key("max_entries", &c::max_entries),
      count_key("max_weight", &c::max_weight),
      duration_key("prune_interval", &c::prune_interval),
      duration_key("idle_timeout", &c::idle_timeout),
      count_key("max_resident_actors", &c::max_resident_actors),
      bool_key("metrics", &c::metrics),
  };
  return keys;
}

// `key` or `path.key`; keys that are not identifiers use `path["key"]` so the path stays
// unambiguous.
std::string member_path(const std::string& path, std::string_view key) {
  auto is_ident = [](char ch) { return ch == '_' || std::isalnum(static_cast<unsigned char>(ch)); };
  bool plain = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
               std::all_of(key.begin(), key.end(), is_ident);
  if (!plain)
    return path + "[" + quote(key) + "]";
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

template <class Config>
void read_object(const json::value& v, const std::string& path,
                 const std::vector<key_handler<Config>>& keys, Config& out) {
  const json::object* object = v.if_object();
  if (!object)
    fail(path, "expected an object, found " + describe(v));
  for (const auto& member : *object) {
    std::string_view name(member.key().data(), member.key().size());
    auto handler = std::find_if(keys.begin(), keys.end(), [&](auto& k) { return k.key == name; });
    if (handler == keys.end()) {
      std::string known;
      for (const auto& k : keys)
        known += (known.empty() ? "" : ", ") + std::string(k.key);
      fail(member_path(path, name), "unknown key; known keys are " + known);
    }
    handler->read(member.value(), member_path(path, name), out);
  }
  for (const auto& k : keys)
    if (k.required && !object->contains(json::string_view(k.key.data(), k.key.size())))
      fail(member_path(path, k.key), "required key is missing; expected " + k.expected);
}

template <class Config>
json::value write_object(const Config& config, const std::vector<key_handler<Config>>& keys) {
  json::object object;
  for (const auto& k : keys)
    object.emplace(json::string_view(k.key.data(), k.key.size()), k.write(config));
  return object;
}

key_handler<runtime_config> caches_key() {
  return {"caches", "an array of cache objects", false,
          [](const json::value& v, const std::string& path, runtime_config& cfg) {
            const json::array* array = v.if_array();
            if (!array)
              fail(path, "expected an array of cache objects, found " + describe(v));
            for (std::size_t i = 0; i < array->size(); ++i) {
              cache_config cache;
              read_object((*array)[i], path + "[" + std::to_string(i) + "]", cache_keys(), cache);
              cfg.caches.push_back(std::move(cache));
            }
          },
          [](const runtime_config& cfg) {
            json::array array;
            for (const auto& cache : cfg.caches)
              array.push_back(write_object(cache, cache_keys()));
            return json::value(std::move(array));
          }};
}

const std::vector<key_handler<resource_config>>& resource_keys() {
  using r = resource_config;
  static const std::vector<key_handler<r>> keys = {
      string_key("name", &r::name, true),
      string_key("loader", &r::loader, true),
      duration_key("refresh_interval", &r::refresh_interval),
      fraction_key("refresh_jitter", &r::refresh_jitter),
      duration_key("error_backoff", &r::error_backoff),
      duration_key("error_backoff_max", &r::error_backoff_max),
      duration_key("load_timeout", &r::load_timeout),
  };
  return keys;
}

key_handler<runtime_config> resources_key() {
  return {"resources", "an array of resource objects", false,
          [](const json::value& v, const std::string& path, runtime_config& cfg) {
            const json::array* array = v.if_array();
            if (!array)
              fail(path, "expected an array of resource objects, found " + describe(v));
            for (std::size_t i = 0; i < array->size(); ++i) {
              resource_config resource;
              read_object((*array)[i], path + "[" + std::to_string(i) + "]", resource_keys(),
                          resource);
              cfg.resources.push_back(std::move(resource));
            }
          },
          [](const runtime_config& cfg) {
            json::array array;
            for (const auto& resource : cfg.resources)
              array.push_back(write_object(resource, resource_keys()));
            return json::value(std::move(array));
          }};
}

key_handler<runtime_config> metrics_http_key() {
  static const std::vector<key_handler<metrics_http_config>> keys = {
      string_key("listen", &metrics_http_config::listen),
  };
  return {"metrics_http", "an object", false,
          [](const json::value& v, const std::string& path, runtime_config& cfg) {
            read_object(v, path, keys, cfg.metrics_http);
          },
          [](const runtime_config& cfg) { return write_object(cfg.metrics_http, keys); }};
}

key_handler<runtime_config> log_level_key() {
  constexpr char expected[] = "one of \"debug\", \"info\", \"warning\", \"error\", \"off\"";
  return {"log_level", expected, false,
          [=](const json::value& v, const std::string& path, runtime_config& c) {
            if (!v.is_string())
              fail(path, std::string{"expected "} + expected + ", found " + describe(v));
            auto level =
                parse_log_level(std::string_view(v.get_string().data(), v.get_string().size()));
            if (!level)
              fail(path, std::string{"expected "} + expected + ", found " + describe(v));
            c.log_level = *level;
          },
          [](const runtime_config& c) {
            auto name = to_string(c.log_level);
            return json::value(json::string_view(name.data(), name.size()));
          }};
}

const std::vector<key_handler<runtime_config>>& runtime_keys() {
  using r = runtime_config;
  static const std::vector<key_handler<r>> keys = {
      count_key("scheduler_threads", &r::scheduler_threads),
      string_key("scheduler_policy", &r::scheduler_policy),
      count_key("loader_threads", &r::loader_threads, 1),
      count_key("max_loader_threads", &r::max_loader_threads),
      duration_key("metrics_cycle", &r::metrics_cycle),
      count_key("metrics_windows", &r::metrics_windows, 1),
      metrics_http_key(),
      log_level_key(),
      caches_key(),
      resources_key(),
  };
  return keys;
}

// --- Output ---------------------------------------------------------------------------------

void pretty_print(const json::value& v, std::string& out, std::size_t indent) {
  const std::string pad(indent + 2, ' ');
  if (auto* object = v.if_object(); object && !object->empty()) {
    out += "{\n";
    for (auto it = object->begin(); it != object->end(); ++it) {
      out += pad + json::serialize(it->key()) + ": ";
      pretty_print(it->value(), out, indent + 2);
      out += std::next(it) == object->end() ? "\n" : ",\n";
    }
    out += std::string(indent, ' ') + "}";
  } else if (auto* array = v.if_array(); array && !array->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < array->size(); ++i) {
      out += pad;
      pretty_print((*array)[i], out, indent + 2);
      out += i + 1 == array->size() ? "\n" : ",\n";
    }
    out += std::string(indent, ' ') + "]";
  } else if (v.is_double()) {
    out += format_double(v.get_double());
  } else {
    out += json::serialize(v);
  }
}

} // namespace

runtime_config parse_config(std::string_view json_text) {
  json::parser parser;
  json::error_code ec;
  std::size_t offset = parser.write(json_text.data(), json_text.size(), ec);
  if (ec) {
    auto before = json_text.substr(0, offset);
    auto line = 1 + std::count(before.begin(), before.end(), '\n');
    auto line_start = before.rfind('\n'); // npos + 1 == 0 for the first line
    auto column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    fail("", "expected valid JSON, found malformed JSON at line " + std::to_string(line) +
                 ", column " + std::to_string(column) + " (byte offset " + std::to_string(offset) +
                 "): " + ec.message());
  }
  runtime_config cfg;
  read_object(parser.release(), "", runtime_keys(), cfg);
  validate(cfg);
  return cfg;
}

runtime_config load_config_file(const std::string& path) {
  auto os_error = [&](const char* what) {
    int err = errno;
    fail("", std::string("cannot ") + what + " config file \"" + path +
                 "\": " + std::generic_category().message(err));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file)
    os_error("open");
  std::string text;
  char buf[8192];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, file.get()))
    text.append(buf, n);
  if (std::ferror(file.get()))
    os_error("read"); // e.g. EISDIR: fopen succeeds on a directory on Linux
  return parse_config(text);
}

duration parse_duration(std::string_view text) {
  duration out;
  auto result = scan_duration(text, out);
  if (result != scan_result::ok)
    fail("", duration_error(result, text_duration_expected, quote(text)));
  return out;
}

std::string format_duration(duration d) {
  auto count = d.count();
  if (count == 0)
    return "0";
  if (count < 0 && count != std::numeric_limits<std::int64_t>::min())
    return "-" + format_duration(-d);
  for (const auto& unit : time_units)
    if (count % unit.ns == 0)
      return std::to_string(count / unit.ns) + std::string(unit.suffix);
  return std::to_string(count) + "ns"; // not reached: every count is a multiple of 1ns
}

std::string to_json(const runtime_config& cfg) {
  std::string out;
  pretty_print(write_object(cfg, runtime_keys()), out, 0);
  return out + "\n";
}

std::string describe_json(const boost::json::value& v) {
  return describe(v);
}

} // namespace corral
