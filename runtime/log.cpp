#include <corral/runtime/log.hpp>

#include <array>

namespace corral {

namespace {

constexpr std::array<std::string_view, 5> level_names = {"debug", "info", "warning", "error",
                                                         "off"};

} // namespace

std::string_view to_string(log_level level) noexcept {
  auto i = static_cast<std::size_t>(level);
  return i < level_names.size() ? level_names[i] : std::string_view{"unknown"};
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (std::size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == text)
      return static_cast<log_level>(i);
  return std::nullopt;
}

} // namespace corral
