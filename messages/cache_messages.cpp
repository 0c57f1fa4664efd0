#include <corral/messages/cache_messages.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace corral {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<cache_status>("corral::cache_status");
  cfg.add_message_type<metrics_snapshot>("corral::metrics_snapshot");
  cfg.add_error_category(
      error_category,
      [](std::uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
        std::string out = "corral::";
        out += to_string(static_cast<errc>(code));
        if (!ctx.empty() && ctx.match_element<std::string>(0)) {
          out += ": ";
          out += ctx.get_as<std::string>(0);
        }
        return out;
      });
}

caf::error make_caf_error(errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

error from_caf_error(const caf::error& e) {
  if (e.category() != error_category)
    return {errc::load_failed, "caf error code " + std::to_string(e.code())};
  std::string msg;
  if (!e.context().empty() && e.context().match_element<std::string>(0))
    msg = e.context().get_as<std::string>(0);
  return {static_cast<errc>(e.code()), std::move(msg)};
}

} // namespace corral
