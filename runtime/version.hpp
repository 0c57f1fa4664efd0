// The version of corral. This header is the one place it is written down: CMake reads the
// three numbers below for project(VERSION), the package config and the .deb, so a release
// bumps them here and nowhere else. Keep each #define on one line: CMake matches them by regex.
#pragma once

// Included first by runtime/runtime.hpp, so that a C++14 build stops here with this message
// instead of deep inside CAF. CMake consumers of corral::corral get C++17 automatically.
#if __cplusplus < 201703L
#error "corral needs C++17 or later (-std=c++17)"
#endif

#define CORRAL_VERSION_MAJOR 0
#define CORRAL_VERSION_MINOR 1
#define CORRAL_VERSION_PATCH 0

#define CORRAL_VERSION_STRINGIFY_(x) #x
#define CORRAL_VERSION_STRINGIFY(x) CORRAL_VERSION_STRINGIFY_(x)
/// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define CORRAL_VERSION_STRING                                                                      \
  CORRAL_VERSION_STRINGIFY(CORRAL_VERSION_MAJOR)                                                   \
  "." CORRAL_VERSION_STRINGIFY(CORRAL_VERSION_MINOR) "." CORRAL_VERSION_STRINGIFY(                 \
      CORRAL_VERSION_PATCH)

namespace corral {

/// The version of the library actually linked, as CORRAL_VERSION_STRING was when it was built.
/// Differs from the macros a program sees when its headers and the library do not match.
const char* version() noexcept;

} // namespace corral
