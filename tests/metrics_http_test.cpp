// The metrics_http endpoint: a real HTTP scrape on 127.0.0.1, the body read back by the
// Prometheus project's own parser (Debian's python3-prometheus-client), and the config checks.
#include <cstdio>
#include <fstream>
#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <httplib.h>

#include <unistd.h>

#include <corral/runtime/config/config_json.hpp>
#include <corral/runtime/config/listen_address.hpp>
#include <corral/runtime/runtime.hpp>

using Catch::Matchers::Contains;

namespace {

corral::runtime_config endpoint_config(const std::string& listen) {
  corral::runtime_config cfg;
  cfg.loader_threads = 2;
  cfg.metrics_http.listen = listen;
  return cfg;
}

corral::cache_config cache_named(const std::string& name) {
  corral::cache_config c;
  c.name = name;
  c.ttl = std::chrono::hours(1);
  return c;
}

// Runs Prometheus' reference parser over `body` and checks every histogram family: buckets,
// _sum and _count per cache, le="+Inf" equal to _count; prints one line per check failure and
// "ok <histograms> <load count of cache prices>" at the end. Returns what it printed.
std::string parse_with_prometheus_client(const std::string& body) {
  char path[] = "/tmp/corral-scrape-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << body;
  }
  const std::string script = R"PY(
import sys
from prometheus_client.parser import text_string_to_metric_families
histograms = 0
prices_loads = None
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    if family.type != "histogram":
        continue
    histograms += 1
    per_cache = {}
    for s in family.samples:
        c = per_cache.setdefault(s.labels["cache"], {"buckets": [], "sum": None, "count": None})
        if s.name == family.name + "_bucket":
            c["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name == family.name + "_sum":
            c["sum"] = s.value
        elif s.name == family.name + "_count":
            c["count"] = s.value
        else:
            print("unexpected sample", s.name)
    for cache, c in per_cache.items():
        les = [le for le, _ in c["buckets"]]
        counts = [v for _, v in c["buckets"]]
        if les != sorted(les) or counts != sorted(counts):
            print(family.name, cache, "buckets not cumulative")
        if not les or les[-1] != float("inf") or counts[-1] != c["count"]:
            print(family.name, cache, "+Inf bucket differs from _count")
        if c["sum"] is None:
            print(family.name, cache, "no _sum")
        if family.name == "corral_load_duration_seconds" and cache == "prices":
            prices_loads = int(c["count"])
print("ok", histograms, prices_loads)
)PY";
  std::string command = "/usr/bin/python3 -c '" + script + "' " + path + " 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    out.append(buf, n);
  pclose(pipe);
  std::remove(path);
  return out;
}

} // namespace

TEST_CASE("GET /metrics serves Prometheus histograms a real parser accepts", "[metrics][http]") {
  corral::runtime rt{endpoint_config("127.0.0.1:0")};
  REQUIRE(rt.metrics_http_port() != 0);
  auto prices = rt.make_cache<std::string>(cache_named("prices"),
                                           [](const std::string& k) { return "p:" + k; });
  for (const char* key : {"a", "b", "c", "a", "b"})
    REQUIRE(prices.get(key).ok()); // 3 loads, 2 hits

  httplib::Client client("127.0.0.1", rt.metrics_http_port());
  auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  INFO(res->body);
  CHECK_THAT(res->body, Contains("corral_requests_total{cache=\"prices\"} 5\n"));
  CHECK_THAT(res->body, Contains("corral_load_duration_seconds_count{cache=\"prices\"} 3\n"));
  // Four latency histograms (load, tier1, source, write); the loads of "prices" are all there.
  CHECK(parse_with_prometheus_client(res->body) == "ok 4 3\n");

  // Cumulative: a later scrape after more loads only grows.
  REQUIRE(prices.get("d").ok());
  auto again = client.Get("/metrics");
  REQUIRE(again);
  CHECK_THAT(again->body, Contains("corral_load_duration_seconds_count{cache=\"prices\"} 4\n"));
  CHECK_THAT(again->body,
             Contains("corral_load_duration_seconds_bucket{cache=\"prices\",le=\"+Inf\"} 4\n"));

  auto json = client.Get("/metrics.json");
  REQUIRE(json);
  CHECK(json->status == 200);
  CHECK(json->get_header_value("Content-Type") == "application/json");
  auto parsed = boost::json::parse(json->body);
  REQUIRE(parsed.as_array().size() == 1);
  CHECK(parsed.as_array()[0].at("cache").as_string() == "prices");
  CHECK(parsed.as_array()[0].at("total").at("requests").as_int64() == 6);

  for (const char* other : {"/", "/metrics/", "/metrics.txt", "/favicon.ico"}) {
    INFO(other);
    auto missing = client.Get(other);
    REQUIRE(missing);
    CHECK(missing->status == 404);
  }
  auto post = client.Post("/metrics", "", "text/plain");
  REQUIRE(post);
  CHECK(post->status != 200);

  rt.shutdown();
  CHECK_FALSE(client.Get("/metrics")); // the endpoint stops with the runtime
}

TEST_CASE("no metrics_http endpoint unless configured", "[metrics][http]") {
  corral::runtime rt{corral::runtime_config{}};
  CHECK(rt.metrics_http_port() == 0);
}

TEST_CASE("an address that cannot be bound fails the runtime's construction", "[metrics][http]") {
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: bind() fails, nothing is sent.
  try {
    corral::runtime rt{endpoint_config("192.0.2.1:9464")};
    FAIL("the runtime started");
  } catch (const corral::config_error& e) {
    CHECK(e.path() == "metrics_http.listen");
    CHECK_THAT(e.what(), Contains("cannot listen on 192.0.2.1:9464"));
  }
}

TEST_CASE("a port another endpoint holds is an error, not a shared port", "[metrics][http]") {
  corral::runtime first{endpoint_config("127.0.0.1:0")};
  const auto taken = "127.0.0.1:" + std::to_string(first.metrics_http_port());
  try {
    corral::runtime second{endpoint_config(taken)};
    FAIL("a second runtime bound " + taken);
  } catch (const corral::config_error& e) {
    CHECK(e.path() == "metrics_http.listen");
    CHECK_THAT(e.what(), Contains("cannot listen on " + taken) && Contains("in use"));
  }
}

TEST_CASE("metrics_http in JSON: strict keys and listen addresses", "[metrics][http][config]") {
  auto cfg = corral::parse_config(R"({"metrics_http": {"listen": "127.0.0.1:9464"}})");
  CHECK(cfg.metrics_http.listen == "127.0.0.1:9464");
  CHECK(corral::parse_config("{}").metrics_http.listen.empty());
  CHECK_THAT(corral::to_json(cfg), Contains("\"listen\": \"127.0.0.1:9464\""));

  auto problem = [](const std::string& text) {
    try {
      corral::parse_config(text);
    } catch (const corral::config_error& e) {
      return e.path() + ": " + e.what();
    }
    return std::string{"accepted"};
  };
  CHECK_THAT(problem(R"({"metrics_http": {"port": 9464}})"),
             Contains("metrics_http.port: ") && Contains("unknown key"));
  CHECK_THAT(problem(R"({"metrics_http": "127.0.0.1:9464"})"),
             Contains("metrics_http: ") && Contains("expected an object"));
  CHECK_THAT(problem(R"({"metrics_http": {"listen": 9464}})"), Contains("metrics_http.listen: "));
  for (const char* bad :
       {"127.0.0.1:65536", "127.0.0.1:", "127.0.0.1", "localhost:http", "::1:9464", "[::1]9464",
        "[nothost]:80", "999.0.0.1:80", "a b:80", "127.0.0.1:-1", "127.0.0.1:99999999999"}) {
    INFO(bad);
    CHECK_THAT(problem(std::string{R"({"metrics_http": {"listen": ")"} + bad + "\"}}"),
               Contains("metrics_http.listen: ") && Contains(std::string{"found \""} + bad));
  }
}

TEST_CASE("listen addresses: host defaults to loopback, IPv6 in brackets", "[metrics][config]") {
  std::string why;
  auto parse = [&](const char* text) { return corral::parse_listen_address(text, why); };
  REQUIRE(parse("9464"));
  CHECK(parse("9464")->host == "127.0.0.1");
  CHECK(parse(":9464")->host == "127.0.0.1");
  CHECK(parse(":9464")->port == 9464);
  CHECK(parse("0.0.0.0:0")->host == "0.0.0.0");
  CHECK(parse("0.0.0.0:0")->port == 0);
  CHECK(parse("[::1]:65535")->host == "::1");
  CHECK(parse("[::1]:65535")->port == 65535);
  CHECK(parse("localhost:80")->host == "localhost");
  CHECK(corral::format_listen_address(*parse("[::1]:80")) == "[::1]:80");
  CHECK_FALSE(parse(""));
  CHECK_FALSE(parse("65536"));
}
