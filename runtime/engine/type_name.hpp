// type_name: a std::type_info as a C++ programmer writes it, for error messages.
// type_info::name() is the mangled name on GCC and Clang ("d", "NSt7__cxx1112basic_string..."),
// which no user should have to decode.
#pragma once

#include <string>
#include <typeinfo>

namespace corral {

/// The demangled name, with libstdc++'s spelling of std::string shortened: "double",
/// "std::string", "std::vector<std::string, std::allocator<std::string> >". Falls back to
/// the raw name() when demangling fails.
std::string type_name(const std::type_info& type);

} // namespace corral
