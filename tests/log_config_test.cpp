// The runtime's "log_level" key: parsed strictly, with the path and the value found in errors.
#include <catch2/catch.hpp>

#include <corral/runtime/config/config_json.hpp>

using Catch::Matchers::Contains;
using corral::log_level;

namespace {

std::string parse_error(const std::string& json, std::string& path) {
  try {
    corral::parse_config(json);
  } catch (const corral::config_error& e) {
    path = e.path();
    return e.what();
  }
  FAIL("no config_error was thrown for " << json);
  return {};
}

} // namespace

TEST_CASE("log_level defaults to warning and reads every level", "[config][log]") {
  CHECK(corral::runtime_config{}.log_level == log_level::warning);
  CHECK(corral::parse_config("{}").log_level == log_level::warning);
  CHECK(corral::parse_config(R"({"log_level": "debug"})").log_level == log_level::debug);
  CHECK(corral::parse_config(R"({"log_level": "info"})").log_level == log_level::info);
  CHECK(corral::parse_config(R"({"log_level": "warning"})").log_level == log_level::warning);
  CHECK(corral::parse_config(R"({"log_level": "error"})").log_level == log_level::error);
  CHECK(corral::parse_config(R"({"log_level": "off"})").log_level == log_level::off);
}

TEST_CASE("log_level rejects unknown names and other types with the path", "[config][log]") {
  std::string path;
  auto what = parse_error(R"({"log_level": "verbose"})", path);
  CHECK(path == "log_level");
  CHECK_THAT(what, Contains(R"(expected one of "debug", "info", "warning", "error", "off")"));
  CHECK_THAT(what, Contains(R"(found string "verbose")"));

  what = parse_error(R"({"log_level": "WARNING"})", path); // names are lower case
  CHECK(path == "log_level");
  CHECK_THAT(what, Contains(R"(found string "WARNING")"));

  what = parse_error(R"({"log_level": 2})", path);
  CHECK(path == "log_level");
  CHECK_THAT(what, Contains("found number 2"));

  what = parse_error(R"({"log_level": null})", path);
  CHECK(path == "log_level");
  CHECK_THAT(what, Contains("found null"));
}

TEST_CASE("log_level round-trips through to_json", "[config][log]") {
  corral::runtime_config cfg;
  cfg.log_level = log_level::info;
  auto text = corral::to_json(cfg);
  CHECK_THAT(text, Contains(R"("log_level": "info")"));
  CHECK(corral::parse_config(text).log_level == log_level::info);
}
