// "host:port" strings for servers the runtime opens (metrics_http.listen).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

struct listen_address {
  std::string host; // IPv6 without brackets
  std::uint16_t port = 0;
};

/// Parses "host:port", "[ipv6]:port", ":port" or "port"; without a host the address is
/// 127.0.0.1 (loopback: reaching the metrics from elsewhere is a deliberate "0.0.0.0:port").
/// The host is an IPv4 literal, a bracketed IPv6 literal, or a DNS name (letters, digits, '-',
/// '.'); the port is decimal, 0 to 65535 (0: the system picks a free port). On failure returns
/// nullopt and sets `why` to what was expected.
std::optional<listen_address> parse_listen_address(std::string_view text, std::string& why);

/// "host:port", brackets around IPv6 hosts: the form error messages and logs use.
std::string format_listen_address(const listen_address& a);

} // namespace corral
