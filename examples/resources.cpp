// Resources (resources-go's model, corrected): values that are loaded once at start-up by
// sync() and then refreshed in the background, so that readers always find one.
//  - "exchange_rates" (declared in code) refreshes every 100 ms; from its third load on, its
//    backend fails: readers keep the last good value while the runtime retries with backoff.
//  - "holidays" (declared in code) fails its first load: sync() reports it by name while the
//    other resources are served, and the retry after error_backoff loads it.
//  - "motd" is declared in the JSON config; its loader is registered by name.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;

namespace {

std::atomic<int> rate_calls{0};

double fetch_rates() { // a remote service, stubbed
  int n = ++rate_calls;
  if (n >= 3)
    throw std::runtime_error("rates service unavailable");
  return n == 1 ? 0.92 : 0.93;
}

std::atomic<int> calendar_calls{0};

std::string fetch_holidays() {
  if (++calendar_calls == 1)
    throw std::runtime_error("calendar service unavailable");
  return "2026-12-25";
}

corral::resource_config every(std::string name, corral::duration interval,
                              corral::duration backoff) {
  corral::resource_config c;
  c.name = std::move(name);
  c.refresh_interval = interval;
  c.error_backoff = backoff;
  c.error_backoff_max = 8 * backoff;
  return c;
}

} // namespace

int main() {
  corral::runtime rt{corral::parse_config(R"({
    "scheduler_threads": 2,
    "loader_threads": 2,
    "resources": [{"name": "motd", "loader": "motd_file", "refresh_interval": "1h"}]
  })")};
  rt.register_resource_loader<std::string>("motd_file", [] { return std::string{"hello"}; });
  auto rates = rt.add_resource<double>(every("exchange_rates", 100ms, 20ms), fetch_rates);
  auto holidays = rt.add_resource<std::string>(every("holidays", 1h, 300ms), fetch_holidays);
  std::atomic<int> reported{0};
  rt.on_resource_error([&](const std::string&, const corral::error&) { ++reported; });

  // Loads all three in parallel and waits; one error names every resource that failed.
  if (auto err = rt.sync(true))
    std::printf("sync error: %s\n", err->message.c_str());
  std::printf("EURUSD: %.2f\n", rates.get().value()); // loaded, served: never blocks
  std::printf("motd: %s\n", rt.resource<std::string>("motd").get().value().c_str());

  auto early = holidays.get(); // fails at once, without waiting
  if (!early.ok())
    std::printf("holidays now: %s\n", corral::to_string(early.code()));
  auto later = holidays.get(2s); // waits for the retry after error_backoff
  std::printf("holidays after retry: %s\n", later.ok() ? later.value().c_str() : "(none)");

  // The rates refresh succeeds once (0.93), then fails: the last good value stays.
  auto deadline = std::chrono::steady_clock::now() + 1500ms;
  while (rates.status().failures < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms); // a demo watching the background refresh, not a test
  auto kept = rates.get();
  std::printf("EURUSD after %s failed refreshes: %.2f (last good value kept)\n",
              rates.status().failures >= 2 ? "2+" : "fewer than 2", kept.ok() ? kept.value() : 0);
  std::printf("last error: %s\n", rates.status().last_error.c_str());

  rt.remove_resource("exchange_rates"); // its refresh stops
  std::printf("EURUSD after remove: %s\n", corral::to_string(rates.get().code()));

  rt.shutdown(); // stops every refresh
  auto failures = holidays.status().failures + rates.status().failures;
  std::printf("failed loads: reported %d, counted %llu\n", reported.load(),
              static_cast<unsigned long long>(failures));
  bool ok = later.ok() && kept.ok() && kept.value() == 0.93 && rates.status().failures >= 2 &&
            static_cast<std::uint64_t>(reported.load()) == failures;
  return ok ? 0 : 1;
}
