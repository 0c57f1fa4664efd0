// The spike manager's price fetcher, ported: many threads ask for the same few tickers at
// once, a slow "exchange" is called once per ticker, and everyone gets that one answer. After
// the TTL passes the next spike fetches again, once per ticker.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "start_gate.hpp"
#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;

namespace {

const std::vector<std::string> tickers = {"AAPL", "GOOG", "MSFT"};

// Stands in for a remote price API: slow, and we count how often it is hit.
std::atomic<int> fetches{0};

double fetch_from_exchange(const std::string& ticker) {
  ++fetches;
  std::this_thread::sleep_for(100ms);
  static const std::map<std::string, double> quotes = {
      {"AAPL", 189.25}, {"GOOG", 141.80}, {"MSFT", 402.10}};
  auto i = quotes.find(ticker);
  if (i == quotes.end())
    throw std::runtime_error("exchange does not list " + ticker);
  return i->second;
}

using corral::examples::start_gate;

// 48 threads each ask for every ticker; returns how many requests failed or got a wrong price.
int spike(const corral::cache<double>& prices, std::map<std::string, double>& seen) {
  constexpr int threads = 48;
  start_gate gate;
  std::atomic<int> bad{0};
  std::mutex seen_mtx;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      gate.wait();
      for (std::size_t i = 0; i < tickers.size(); ++i) {
        // Each thread starts at a different ticker so all three are asked for at once.
        const auto& ticker = tickers[(i + t) % tickers.size()];
        auto r = prices.get(ticker);
        if (!r.ok()) {
          ++bad;
          continue;
        }
        std::lock_guard<std::mutex> guard{seen_mtx};
        auto [pos, fresh] = seen.emplace(ticker, r.value());
        if (!fresh && pos->second != r.value())
          ++bad;
      }
    });
  gate.open();
  for (auto& th : pool)
    th.join();
  return bad.load();
}

} // namespace

int main() {
  corral::runtime rt;
  corral::cache_config cfg;
  cfg.name = "prices";
  cfg.ttl = 1s; // prices may be a second old; after that the next request refetches
  auto prices = rt.make_cache<double>(cfg, fetch_from_exchange);

  std::map<std::string, double> seen;
  int bad = spike(prices, seen);
  for (const auto& [ticker, price] : seen)
    std::printf("%s: %.2f\n", ticker.c_str(), price);
  int first = fetches.load();
  const std::size_t per_spike = 48 * tickers.size();
  std::printf("requests: %zu (48 threads x %zu tickers)\n", per_spike, tickers.size());
  std::printf("fetches: %d\n", first);

  // Let the prices expire: the next spike must go to the exchange again, once per ticker.
  std::this_thread::sleep_for(cfg.ttl + 100ms);
  bad += spike(prices, seen);
  int second = fetches.load() - first;
  std::printf("requests after ttl: %zu\n", per_spike);
  std::printf("fetches after ttl: %d\n", second);
  // The table's "total" row counts both spikes.
  auto metrics = prices.metrics();
  std::printf("requests in all: %llu (both spikes; the table's total row)\n",
              static_cast<unsigned long long>(metrics.total.requests));
  std::printf("failed requests: %d\n", bad);
  std::printf("%s\n", corral::format_table(metrics).c_str());

  rt.shutdown();
  int expected = static_cast<int>(tickers.size());
  bool counted = metrics.total.requests == 2 * per_spike;
  return first == expected && second == expected && bad == 0 && counted ? 0 : 1;
}
