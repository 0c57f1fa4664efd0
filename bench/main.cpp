// corral-bench: measures corral against what a C++ user would write instead.
//
//   corral-bench --scenario NAME [--quick]     one scenario
//   corral-bench --scenario all [--quick]      every scenario, in registry order
//   corral-bench --list                        names and descriptions
//
// Results go to stdout as one JSON object per line; progress and errors go to stderr.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bench/registry.hpp"

namespace {

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --scenario NAME|all [--quick]\n"
               "       %s --list\n"
               "scenarios:\n",
               argv0, argv0);
  for (const auto& s : bench::scenarios())
    std::fprintf(stderr, "  %-10s %s\n", s.name.c_str(), s.description.c_str());
}

} // namespace

int main(int argc, char** argv) {
  bench::options opt;
  std::string name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      opt.quick = true;
    } else if (arg == "--scenario" && i + 1 < argc) {
      name = argv[++i];
    } else if (arg.rfind("--scenario=", 0) == 0) {
      name = arg.substr(std::strlen("--scenario="));
    } else if (arg == "--list") {
      for (const auto& s : bench::scenarios())
        std::fprintf(stderr, "%s\t%s\n", s.name.c_str(), s.description.c_str());
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage(argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument: %s\n", arg.c_str());
      usage(argv[0]);
      return 2;
    }
  }
  if (name.empty()) {
    usage(argv[0]);
    return 2;
  }

  std::vector<bench::scenario> selected;
  if (name == "all") {
    selected = bench::scenarios();
  } else if (const auto* s = bench::find_scenario(name)) {
    selected.push_back(*s);
  } else {
    std::fprintf(stderr, "unknown scenario: %s\n", name.c_str());
    usage(argv[0]);
    return 2;
  }

  int status = 0;
  for (const auto& s : selected) {
    try {
      s.run(opt);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "scenario %s failed: %s\n", s.name.c_str(), ex.what());
      status = 1;
    }
  }
  return status;
}
