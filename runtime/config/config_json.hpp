// Strict JSON form of runtime_config; the schema is documented in docs/config.md.
#pragma once

#include <corral/runtime/config/config.hpp>

#include <string>
#include <string_view>

namespace boost::json {
class value;
}

namespace corral {

/// How config errors name a JSON value: "string \"x\"", "number 1.5", "bool true", "null",
/// "array", "object".
std::string describe_json(const boost::json::value& v);

/// Parses a JSON config and validate()s it. Unknown keys, wrong types and out-of-range values
/// throw config_error whose path() names the element (`caches[1].ttl`; "" for the root).
runtime_config parse_config(std::string_view json_text);

/// Reads and parses a JSON config file. An unreadable file throws config_error with an empty
/// path and a message naming the file and the OS reason.
runtime_config load_config_file(const std::string& path);

/// Parses "250ms", "5s", "1.5s", "2m", "1h", "100us", "10ns" or "0". Throws config_error with
/// an empty path on anything else, including negative values and values beyond ~292 years.
duration parse_duration(std::string_view text);

/// Formats `d` exactly in its largest whole unit ("2s", "1500ms", "0"); parse_duration reads it
/// back unchanged.
std::string format_duration(duration d);

/// Serializes `cfg` as indented JSON with every key spelled out; parse_config reads it back.
std::string to_json(const runtime_config& cfg);

} // namespace corral
