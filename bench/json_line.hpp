// One JSON object printed as one line on stdout: the only thing corral-bench writes there.
//
//   bench::json_line{"hit", "corral"}.field("threads", 2).field("ns_per_op", 12.5).print();
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

namespace bench {

class json_line {
public:
  json_line(std::string_view scenario, std::string_view impl) {
    field("scenario", scenario);
    field("impl", impl);
  }

  json_line& field(std::string_view name, std::string_view value) {
    key(name);
    quoted(value);
    return *this;
  }
  json_line& field(std::string_view name, const char* value) {
    return field(name, std::string_view{value});
  }
  json_line& field(std::string_view name, bool value) {
    key(name);
    out_ += value ? "true" : "false";
    return *this;
  }
  /// Integers print exactly; floating point with 7 significant digits (NaN/inf as null).
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
  json_line& field(std::string_view name, T value) {
    key(name);
    if constexpr (std::is_integral_v<T>) {
      out_ += std::to_string(value);
    } else if (!std::isfinite(static_cast<double>(value))) {
      out_ += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(value));
      out_ += buf;
    }
    return *this;
  }

  /// Writes the object and a newline to stdout and flushes, so that lines appear as they are
  /// measured.
  void print() const {
    std::fputs(out_.c_str(), stdout);
    std::fputs("}\n", stdout);
    std::fflush(stdout);
  }

private:
  void key(std::string_view name) {
    out_ += out_.empty() ? "{" : ",";
    quoted(name);
    out_ += ':';
  }
  void quoted(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out_ += buf;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  std::string out_;
};

} // namespace bench
