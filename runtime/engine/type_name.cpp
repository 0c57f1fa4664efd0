#include <corral/runtime/engine/type_name.hpp>

#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <string_view>

namespace corral {

namespace {

// Replaces every `from` by `to`, and the space the demangler puts between two closing '>' when
// `from` ended in one ("std::allocator<std::string >" becomes "std::allocator<std::string>").
void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    auto end = pos + from.size();
    if (from.back() == '>' && to.back() != '>' && text.compare(end, 2, " >") == 0)
      ++end;
    text.replace(pos, end - pos, to);
  }
}

} // namespace

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  if (status != 0 || !demangled)
    return type.name();
  std::string out = demangled.get();
  // What users write; the full spelling (and libstdc++'s inline namespace) is noise.
  replace_all(out,
              "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
              "std::string");
  replace_all(out, "std::__cxx11::", "std::");
  return out;
}

} // namespace corral
