// The scenarios corral-bench knows, by name. A scenario registers itself from its own .cpp:
//
//   namespace { void run_mine(const bench::options& opt) { ... } }
//   static const bench::registrar mine{"mine", "what it measures", 40, &run_mine};
//
// and prints its results with bench::json_line (one JSON object per line on stdout).
#pragma once

#include <string>
#include <vector>

namespace bench {

struct options {
  /// Same scenario and fields, sized to run in a few seconds.
  bool quick = false;
};

using scenario_fn = void (*)(const options&);

struct scenario {
  std::string name;
  std::string description;
  int order; // position in `--scenario all` (ascending)
  scenario_fn run;
};

/// Every registered scenario, sorted by `order`.
std::vector<scenario> scenarios();

/// The scenario named `name`, or nullptr.
const scenario* find_scenario(const std::string& name);

/// Registers a scenario during static initialization.
struct registrar {
  registrar(const char* name, const char* description, int order, scenario_fn run);
};

} // namespace bench
