// Forwards corral's log events to an spdlog logger: one rt.on_log() call is the whole adapter.
// Built only when CMake finds spdlog (Debian: libspdlog-dev).
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <corral/runtime/runtime.hpp>

namespace {

spdlog::level::level_enum to_spdlog(corral::log_level level) {
  switch (level) {
  case corral::log_level::debug:
    return spdlog::level::debug;
  case corral::log_level::info:
    return spdlog::level::info;
  case corral::log_level::warning:
    return spdlog::level::warn;
  case corral::log_level::error:
    return spdlog::level::err;
  case corral::log_level::off:
    break;
  }
  return spdlog::level::off;
}

} // namespace

int main() {
  // The logger writes into a string here so that the example can check what arrived; a real
  // program would use spdlog::stdout_color_mt("corral") or a file sink.
  std::ostringstream text;
  auto logger = std::make_shared<spdlog::logger>(
      "corral", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  logger->set_pattern("[%n] [%l] %v");
  logger->set_level(spdlog::level::debug);

  int failures = 0;
  {
    corral::runtime rt;
    rt.on_log(
        [logger](corral::log_level level, std::string_view component, std::string_view message) {
          // spdlog loggers made with an _mt sink are thread-safe, as a corral handler must be.
          logger->log(to_spdlog(level), "{}: {}", component, message);
        });
    corral::cache_config cfg;
    cfg.name = "prices";
    auto prices = rt.make_cache<double>(cfg, [](const std::string& symbol) -> double {
      throw std::runtime_error("no quote for " + symbol);
    });
    for (int i = 0; i < 5; ++i)
      failures += prices.get("AAPL").ok() ? 0 : 1;
  } // shutdown: the four repeats are summarised
  logger->flush();
  std::cout << text.str();
  std::cout << "failed gets: " << failures << "\n";
  bool ok = failures == 5 &&
            text.str().find("[corral] [warning] cache prices: load failed: no quote for AAPL\n") !=
                std::string::npos &&
            text.str().find("(repeated 4 times in") != std::string::npos;
  std::cout << (ok ? "spdlog example: ok\n" : "spdlog example: FAILED\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
