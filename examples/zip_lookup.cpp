// The spike manager's lazy loader, ported: zip codes are fetched only when first asked for and
// then kept for the life of the process (ttl 0). An unknown zip is "not found", and that answer
// is cached too (negative_ttl), so the directory is asked about each zip exactly once.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;

namespace {

// Stub of a remote zip-code directory; counts calls per zip to show the cache's effect.
std::mutex calls_mtx;
std::map<std::string, int> calls;

std::optional<std::string> lookup_zip(const std::string& zip) {
  {
    std::lock_guard<std::mutex> guard{calls_mtx};
    ++calls[zip];
  }
  std::this_thread::sleep_for(20ms); // a remote call, not free
  static const std::map<std::string, std::string> directory = {
      {"10001", "New York, NY"}, {"60601", "Chicago, IL"}, {"94105", "San Francisco, CA"}};
  auto i = directory.find(zip);
  if (i == directory.end())
    return std::nullopt;
  return i->second;
}

} // namespace

int main() {
  corral::runtime rt;
  corral::cache_config cfg;
  cfg.name = "zipcodes";
  cfg.ttl = corral::duration::zero(); // zip codes do not move: keep them forever
  cfg.negative_ttl = 1h;              // remember unknown zips so they are not asked again
  auto zips = rt.make_cache<std::string>(cfg, lookup_zip);

  // The same zips asked repeatedly, in a request-like order; 00000 does not exist.
  const std::vector<std::string> asks = {"10001", "94105", "10001", "00000", "60601",
                                         "94105", "00000", "10001", "60601", "00000"};
  int wrong = 0;
  for (const auto& zip : asks) {
    auto r = zips.get(zip);
    if (r.ok())
      std::printf("%s -> %s\n", zip.c_str(), r.value().c_str());
    else
      std::printf("%s -> %s (%s)\n", zip.c_str(), corral::to_string(r.code()),
                  r.err().message.c_str());
    // Only 00000 may be missing; anything else (timeout, load error) is a failure.
    if (r.ok() == (zip == "00000") || (!r.ok() && r.code() != corral::errc::not_found))
      ++wrong;
  }

  int max_calls = 0;
  int total_calls = 0;
  for (const auto& [zip, n] : calls) {
    std::printf("stub calls for %s: %d\n", zip.c_str(), n);
    max_calls = std::max(max_calls, n);
    total_calls += n;
  }
  std::printf("lookups: %zu, distinct zips: %zu, stub calls: %d\n", asks.size(), calls.size(),
              total_calls);
  std::printf("%s\n", corral::format_table(zips.metrics()).c_str());

  rt.shutdown();
  return wrong == 0 && max_calls == 1 && calls.size() == 4 ? 0 : 1;
}
