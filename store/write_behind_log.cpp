#include <corral/store/write_behind_log.hpp>

namespace corral {

void log_write_behind_to_sink(write_behind_link& link, std::shared_ptr<log_sink> sink,
                              std::string component) {
  link.hooks.log = [sink = std::move(sink), component = std::move(component),
                    own = std::move(link.hooks.log)](write_log_level level,
                                                     const std::string& text) {
    sink->write(level == write_log_level::warn ? log_level::warning : log_level::info, component,
                text);
    if (own)
      own(level, text);
  };
}

} // namespace corral
