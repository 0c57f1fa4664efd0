#include "bench/registry.hpp"

#include <algorithm>
#include <stdexcept>

namespace bench {

namespace {

// A function-local static, so that registrars in other translation units may run first.
std::vector<scenario>& table() {
  static std::vector<scenario> all;
  return all;
}

} // namespace

registrar::registrar(const char* name, const char* description, int order, scenario_fn run) {
  if (find_scenario(name) != nullptr)
    throw std::logic_error(std::string{"scenario registered twice: "} + name);
  table().push_back(scenario{name, description, order, run});
}

std::vector<scenario> scenarios() {
  auto out = table();
  std::stable_sort(out.begin(), out.end(),
                   [](const scenario& a, const scenario& b) { return a.order < b.order; });
  return out;
}

const scenario* find_scenario(const std::string& name) {
  for (const auto& s : table())
    if (s.name == name)
      return &s;
  return nullptr;
}

} // namespace bench
