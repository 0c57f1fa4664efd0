// Refresh on access (refresh_after, Caffeine's refreshAfterWrite) and XFetch early refresh
// (xfetch_beta): readers keep getting the current value from memory while the cache reloads it
// in the background, so nobody waits for the backend once a key is loaded.
//
//   1. The first get loads (the caller waits, once).
//   2. A get past refresh_after returns the current value at once and starts one reload.
//   3. A put made while a reload is in flight wins: the reload's result is dropped.
//   4. XFetch: readers near expiry reload early, with a probability that grows as expiry nears.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;

namespace {

// A backend quote that changes on every call: "1.0801", "1.0802", ...
std::atomic<int> quote_calls{0};

std::string fetch_quote(const std::string&) {
  int n = ++quote_calls;
  std::this_thread::sleep_for(20ms); // a remote call, not free
  char buf[16];
  std::snprintf(buf, sizeof buf, "1.%04d", 800 + n);
  return buf;
}

/// Polls the in-memory value (try_get never loads) until it differs from `old` or 1 s passed.
template <class Cache>
std::string wait_for_change(const Cache& c, const std::string& key, const std::string& old) {
  for (auto until = std::chrono::steady_clock::now() + 1s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(1ms))
    if (auto v = c.try_get(key); v && *v != old)
      return *v;
  return old;
}

std::uint64_t count(const corral::counter_values& v, corral::counter c) {
  return v[static_cast<std::size_t>(c)];
}

} // namespace

int main() {
  corral::runtime rt;
  int failures = 0;
  auto check = [&failures](bool ok, const char* what) {
    if (!ok)
      std::printf("FAILED: %s\n", what); // says which step broke, not only that one did
    failures += ok ? 0 : 1;
  };

  // -- refresh_after: reload entries older than 200 ms on their next read --------------------
  corral::cache_config cfg;
  cfg.name = "quotes";
  cfg.refresh_after = 200ms; // a read of an older entry starts one background reload
  cfg.ttl = 10s;             // an entry nobody reads still expires
  auto quotes = rt.make_cache<std::string>(cfg, fetch_quote);

  auto v1 = quotes.get("EURUSD").value(); // a miss: this caller waits for the 20 ms load
  std::printf("first get -> %s (loaded, the caller waited)\n", v1.c_str());
  auto again = quotes.get("EURUSD").value();
  std::printf("get before refresh_after -> %s (loader calls: %d)\n", again.c_str(),
              quote_calls.load());
  check(again == v1 && quote_calls == 1, "a second get is a hit");

  std::this_thread::sleep_for(250ms);
  auto served = quotes.get("EURUSD").value(); // older than 200 ms: current value, reload starts
  std::printf("get past refresh_after -> %s (served from memory, one reload started)\n",
              served.c_str());
  check(served == v1,
        "a get past refresh_after serves the current value"); // had it waited for the reload, it
                                                              // would have the new value
  auto v2 = wait_for_change(quotes, "EURUSD", v1);
  std::printf("after the background reload -> %s (loader calls: %d)\n", v2.c_str(),
              quote_calls.load());
  check(v2 != v1 && quote_calls == 2, "one background reload replaced the value");

  // -- a put during a reload wins ---------------------------------------------------------
  std::this_thread::sleep_for(250ms);
  quotes.get("EURUSD"); // starts reload number 3
  while (quote_calls < 3)
    std::this_thread::sleep_for(1ms); // the loader is running now
  quotes.put("EURUSD", "1.2345");     // newer than the reload: the reload's result is dropped
  std::this_thread::sleep_for(60ms);  // the 20 ms reload has finished meanwhile
  auto after_put = quotes.get("EURUSD").value();
  std::printf("put during a reload -> %s (the reload's result was dropped)\n", after_put.c_str());
  check(after_put == "1.2345", "a put during a reload wins");
  auto qc = quotes.counters();
  std::printf("quotes: %llu loads, %llu of them background refreshes\n",
              static_cast<unsigned long long>(count(qc, corral::counter::loads)),
              static_cast<unsigned long long>(count(qc, corral::counter::refreshes)));

  // -- XFetch: early refresh before expiry, probabilistic -----------------------------------
  // A reader refreshes early when now - load_time * beta * ln(u) >= expiry, u uniform in (0, 1]:
  // with a 20 ms load and beta 8, a read d ms before expiry does with probability e^(-d/160).
  // Reading every 2 ms, the first reader to draw a refresh comes ~700 ms before expiry, so a
  // busy machine that stalls this thread for less than that still sees the early refresh.
  corral::cache_config xcfg;
  xcfg.name = "rates";
  xcfg.ttl = 1500ms;
  xcfg.xfetch_beta = 8.0;
  auto rates = rt.make_cache<std::string>(xcfg, fetch_quote);
  auto r1 = rates.get("GBPUSD").value(); // the first load
  std::string seen = r1;
  auto until = std::chrono::steady_clock::now() + 2s;
  while (seen == r1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(2ms);
    seen = rates.get("GBPUSD").value(); // from memory until a reader draws an early refresh
  }
  auto rc = rates.counters();
  bool early = count(rc, corral::counter::refreshes) == 1;
  std::printf("xfetch: %s -> %s, reloaded early by a reader before the ttl ran out: %s\n",
              r1.c_str(), seen.c_str(), early ? "yes" : "no");
  check(seen != r1 && early, "xfetch reloaded before the ttl ran out");

  rt.shutdown();
  std::printf("%s\n", failures == 0 ? "refresh example: ok" : "refresh example: FAILED");
  return failures == 0 ? 0 : 1;
}
