// The smallest adopter of corral: one cache declared in code with a loader, read twice.
// Exits 0 only if both reads see the loaded value, the loader ran once, and the linked library
// is the version its headers declare.
#include <corral/runtime/runtime.hpp>
#include <corral/runtime/version.hpp>

#include <atomic>
#include <cstdio>
#include <string>

int main() {
  corral::runtime rt;
  corral::cache_config cfg;
  cfg.name = "greetings";
  std::atomic<int> loads{0};
  auto greetings = rt.make_cache<std::string>(cfg, [&loads](const std::string& name) {
    ++loads;
    return "hello " + name;
  });
  auto first = greetings.get("consumer");
  auto second = greetings.get("consumer");
  bool values_right = first.ok() && first.value() == "hello consumer" && second.ok() &&
                      second.value() == "hello consumer";
  bool version_right = std::string(corral::version()) == CORRAL_VERSION_STRING;
  std::printf("consumer: corral %s, value %s, %d load(s)\n", corral::version(),
              first.ok() ? first.value().c_str() : "<error>", loads.load());
  return values_right && loads.load() == 1 && version_right ? 0 : 1;
}
