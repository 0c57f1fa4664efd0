// Log events of the whole runtime: levels and the handler that receives them
// (runtime::on_log). Standard library only, so that an adapter to any logging library
// (examples/spdlog_sink.cpp) needs nothing from CAF or Boost.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

namespace corral {

/// Severity of a log event, least severe first. `off` as the configured level drops every
/// event; it is never the level of an event.
enum class log_level { debug, info, warning, error, off };

/// "debug", "info", "warning", "error" or "off".
std::string_view to_string(log_level level) noexcept;

/// The level named by to_string(level); nullopt for any other text (case matters).
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

/// Receives the events that pass the configured level and the rate limit. `component` says
/// where the event comes from ("cache prices", "resource rates", "runtime"); both views are
/// valid only during the call. May be called from several threads at once, never while corral
/// holds a lock of its own: a handler may use the caches, but should be quick (it runs on
/// actor and loader threads) and must not wait for a load of the cache that reported.
using log_handler =
    std::function<void(log_level level, std::string_view component, std::string_view message)>;

} // namespace corral
