#include <corral/runtime/config/listen_address.hpp>

#include <algorithm>
#include <cctype>

#include <arpa/inet.h>

namespace corral {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '-' || s.front() == '.' || s.back() == '-')
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

} // namespace

std::optional<listen_address> parse_listen_address(std::string_view text, std::string& why) {
  why = "expected \"host:port\", \"[ipv6]:port\" or \"port\" with a port from 0 to 65535";
  std::string_view host;
  std::string_view port = text;
  bool ipv6 = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    ipv6 = true;
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) { // a bare IPv6 literal is ambiguous
      why = "expected an IPv6 host in brackets, as \"[::1]:9464\"";
      return std::nullopt;
    }
  }
  if (!all_digits(port) || port.size() > 5)
    return std::nullopt;
  auto number = std::stoul(std::string(port));
  if (number > 65535)
    return std::nullopt;
  listen_address out;
  out.port = static_cast<std::uint16_t>(number);
  if (host.empty() && !ipv6) {
    out.host = "127.0.0.1";
    return out;
  }
  out.host = std::string(host);
  if (ipv6) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) {
      why = "expected an IPv6 literal between the brackets";
      return std::nullopt;
    }
    return out;
  }
  // Digits and dots only: must be a dotted IPv4 literal, not a name ("1.2.3" or "999.0.0.1").
  const bool looks_numeric = std::all_of(host.begin(), host.end(),
                                         [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (looks_numeric) {
    in_addr a4{};
    if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1) {
      why = "expected a dotted IPv4 address such as 127.0.0.1";
      return std::nullopt;
    }
    return out;
  }
  if (!dns_name(host)) {
    why = "expected a host name, an IPv4 address or a bracketed IPv6 address before the ':'";
    return std::nullopt;
  }
  return out;
}

std::string format_listen_address(const listen_address& a) {
  auto host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  return host + ":" + std::to_string(a.port);
}

} // namespace corral
