// The smallest consumer of the in-process API: a runtime, a cache with a loader, one get. Its
// includes are checked by header_hygiene.cmake: nothing of CAF or Boost may reach it.
#include <corral/runtime/runtime.hpp>

#include <iostream>
#include <string>

int main() {
  corral::runtime rt;
  corral::cache_config cfg;
  cfg.name = "greetings";
  auto greetings =
      rt.make_cache<std::string>(cfg, [](const std::string& who) { return "hello, " + who; });
  auto r = greetings.get("world");
  std::cout << (r ? r.value() : r.err().message) << "\n";
  return r ? 0 : 1;
}
