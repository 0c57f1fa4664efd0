#include <corral/runtime/version.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("version: the linked library reports the version its headers declare", "[version]") {
  std::string expected = std::to_string(CORRAL_VERSION_MAJOR) + "." +
                         std::to_string(CORRAL_VERSION_MINOR) + "." +
                         std::to_string(CORRAL_VERSION_PATCH);
  CHECK(std::string(CORRAL_VERSION_STRING) == expected);
  CHECK(std::string(corral::version()) == expected);
}

TEST_CASE("version: CMake's project version is the one in the header", "[version]") {
  CHECK(std::string(CORRAL_PROJECT_VERSION) == CORRAL_VERSION_STRING);
}
