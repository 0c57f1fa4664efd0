#include <corral/runtime/config/config.hpp>
#include <corral/runtime/config/config_json.hpp>

#include <boost/json/value.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <initializer_list>
#include <string>

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using corral::config_error;

namespace {

// The config_error that `run` must throw; fails the test if it throws nothing.
template <class F> config_error error_of(F run) {
  try {
    run();
  } catch (const config_error& e) {
    return e;
  }
  FAIL("no config_error was thrown");
  return config_error("<none>", "");
}

// Checks that parsing `json` fails at exactly `path` with a message containing every part.
void check_parse_error(const std::string& json, const std::string& path,
                       std::initializer_list<std::string> parts) {
  INFO("input: " << json);
  auto e = error_of([&] { corral::parse_config(json); });
  CHECK(e.path() == path);
  for (const auto& part : parts)
    CHECK_THAT(std::string(e.what()), Contains(part));
}

void check_validate_error(const corral::runtime_config& cfg, const std::string& path,
                          const std::string& part) {
  auto e = error_of([&] { corral::validate(cfg); });
  CHECK(e.path() == path);
  CHECK_THAT(std::string(e.what()), Contains(part));
}

std::string one_cache(const std::string& members) {
  return R"({"caches": [{"name": "a", )" + members + "}]}";
}

void check_same(const corral::cache_config& a, const corral::cache_config& b) {
  CHECK(a.name == b.name);
  CHECK(a.loader == b.loader);
  CHECK(a.ttl == b.ttl);
  CHECK(a.negative_ttl == b.negative_ttl);
  CHECK(a.stale_while_revalidate == b.stale_while_revalidate);
  CHECK(a.stale_if_error == b.stale_if_error);
  CHECK(a.ttl_jitter == b.ttl_jitter);
  CHECK(a.load_timeout == b.load_timeout);
  CHECK(a.max_concurrent_loads == b.max_concurrent_loads);
  CHECK(a.max_queued_loads == b.max_queued_loads);
  CHECK(a.error_backoff == b.error_backoff);
  CHECK(a.error_backoff_max == b.error_backoff_max);
  CHECK(a.batch_window == b.batch_window);
  CHECK(a.batch_size == b.batch_size);
  CHECK(a.max_entries == b.max_entries);
  CHECK(a.max_weight == b.max_weight);
  CHECK(a.prune_interval == b.prune_interval);
  CHECK(a.idle_timeout == b.idle_timeout);
  CHECK(a.max_resident_actors == b.max_resident_actors);
}

void check_same(const corral::runtime_config& a, const corral::runtime_config& b) {
  CHECK(a.scheduler_threads == b.scheduler_threads);
  CHECK(a.scheduler_policy == b.scheduler_policy);
  CHECK(a.loader_threads == b.loader_threads);
  CHECK(a.max_loader_threads == b.max_loader_threads);
  REQUIRE(a.caches.size() == b.caches.size());
  for (std::size_t i = 0; i < a.caches.size(); ++i)
    check_same(a.caches[i], b.caches[i]);
}

} // namespace

TEST_CASE("config/default.json parses", "[config]") {
  auto cfg = corral::load_config_file(CORRAL_SOURCE_DIR "/config/default.json");
  CHECK(cfg.loader_threads == 64);
  REQUIRE(cfg.caches.size() == 2);
  auto* prices = cfg.find_cache("prices");
  REQUIRE(prices != nullptr);
  CHECK(prices->loader == "demo_price");
  CHECK(prices->ttl == 2s);
  CHECK(prices->idle_timeout == 5s);
  CHECK(prices->prune_interval == 1s);
  CHECK(prices->max_entries == 100000);
  auto* zipcodes = cfg.find_cache("zipcodes");
  REQUIRE(zipcodes != nullptr);
  CHECK(zipcodes->loader == "zip_lookup");
  CHECK(zipcodes->ttl == 0s);
  CHECK(cfg.find_cache("nope") == nullptr);
}

TEST_CASE("durations accept every documented form", "[config]") {
  using corral::parse_duration;
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("5s") == 5s);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("2m") == 2min);
  CHECK(parse_duration("100us") == 100us);
  CHECK(parse_duration("10ns") == 10ns);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("0.25ms") == 250us);
  CHECK(parse_duration("1.000000001s") == 1s + 1ns);
  CHECK(parse_duration("0") == 0ns);
  CHECK(parse_duration("0s") == 0ns);

  auto cfg = corral::parse_config(one_cache(R"("ttl": 1500, "idle_timeout": "1.5m")"));
  CHECK(cfg.caches[0].ttl == 1500ms);
  CHECK(cfg.caches[0].idle_timeout == 90s);

  for (corral::duration d : std::initializer_list<corral::duration>{
           0ns, 1ns, 1500ns, 2ms, 1500ms, 90s, 2min, 3h, corral::duration::max()})
    CHECK(parse_duration(corral::format_duration(d)) == d);
  CHECK(corral::format_duration(1500ms) == "1500ms");
  CHECK(corral::format_duration(2h) == "2h");
}

TEST_CASE("bad duration text is rejected", "[config]") {
  for (const char* text : {"", "5", "5 s", " 5s", "5S", "1.s", ".5s", "1e3ms", "5 parsecs",
                           "1.5.3s", "s", "0x10s", "+5s", "--5s", "-"}) {
    INFO("text: '" << text << "'");
    auto e = error_of([&] { corral::parse_duration(text); });
    CHECK(e.path().empty());
    CHECK_THAT(std::string(e.what()), Contains("expected a duration such as"));
  }
  CHECK_THAT(error_of([] { corral::parse_duration("-5s"); }).what(),
             Contains("expected a non-negative duration, found \"-5s\""));
  CHECK_THAT(error_of([] { corral::parse_duration("99999999999h"); }).what(),
             Contains("at most about 292 years"));
  CHECK_THAT(error_of([] { corral::parse_duration("99999999999999999999999s"); }).what(),
             Contains("at most about 292 years"));
}

TEST_CASE("malformed JSON names the position", "[config]") {
  check_parse_error(R"({"loader_threads": 8,})", "",
                    {"malformed JSON", "line 1, column 22 (byte offset 21)", "syntax error"});
  check_parse_error("{\n  \"loader_threads\": 8\n  \"caches\": []\n}", "",
                    {"malformed JSON", "line 3, column 3"});
  check_parse_error("", "", {"malformed JSON", "incomplete JSON"});
  check_parse_error("{} x", "", {"malformed JSON", "extra data"});
}

TEST_CASE("wrong JSON types name the type found", "[config]") {
  check_parse_error("[]", "", {"expected an object, found array"});
  check_parse_error(R"({"loader_threads": "8"})", "loader_threads",
                    {"expected a positive integer", "found string \"8\""});
  check_parse_error(R"({"caches": {}})", "caches",
                    {"expected an array of cache objects", "found object"});
  check_parse_error(R"({"caches": [{"name": 5}]})", "caches[0].name",
                    {"expected a string", "found number 5"});
  check_parse_error(one_cache(R"("ttl": true)"), "caches[0].ttl",
                    {"expected a duration such as", "found bool true"});
  check_parse_error(one_cache(R"("ttl": null)"), "caches[0].ttl", {"found null"});
  check_parse_error(one_cache(R"("ttl": 1.5)"), "caches[0].ttl", {"found number 1.5"});
  check_parse_error(one_cache(R"("max_entries": [1])"), "caches[0].max_entries",
                    {"expected a non-negative integer", "found array"});
  check_parse_error(one_cache(R"("max_entries": 1.5)"), "caches[0].max_entries",
                    {"found number 1.5"});
  check_parse_error(one_cache(R"("ttl_jitter": "0.1")"), "caches[0].ttl_jitter",
                    {"expected a number in [0, 1)", "found string \"0.1\""});
}

TEST_CASE("bad duration values name the path", "[config]") {
  auto e = error_of([] {
    corral::parse_config(R"({"caches": [{"name": "a"}, {"name": "b", "ttl": "5 parsecs"}]})");
  });
  CHECK(e.path() == "caches[1].ttl");
  CHECK(std::string(e.what()) == "caches[1].ttl: expected a duration such as \"250ms\", \"5s\", "
                                 "\"1h\" or integer milliseconds, found \"5 parsecs\"");
  check_parse_error(one_cache(R"("load_timeout": "5")"), "caches[0].load_timeout",
                    {"found \"5\"", "a string needs a unit"});
  // Past what a nanosecond count holds: reported as the config's one bound, 10 years.
  check_parse_error(one_cache(R"("ttl": 9300000000000000)"), "caches[0].ttl", {"at most 10 years"});
  check_parse_error(one_cache(R"("ttl": 18446744073709551615)"), "caches[0].ttl",
                    {"at most 10 years", "found number 18446744073709551615"});
  check_parse_error(one_cache(R"("ttl": "99999999999h")"), "caches[0].ttl",
                    {"at most 10 years", "found \"99999999999h\""});
}

TEST_CASE("negative values are rejected", "[config]") {
  check_parse_error(one_cache(R"("ttl": "-5s")"), "caches[0].ttl",
                    {"expected a non-negative duration", "found \"-5s\""});
  check_parse_error(one_cache(R"("negative_ttl": -5)"), "caches[0].negative_ttl",
                    {"expected a non-negative duration", "found number -5"});
  check_parse_error(one_cache(R"("max_entries": -1)"), "caches[0].max_entries",
                    {"expected a non-negative integer", "found number -1"});
  check_parse_error(one_cache(R"("max_weight": -1)"), "caches[0].max_weight",
                    {"expected a non-negative integer", "found number -1"});
  check_parse_error(one_cache(R"("max_weight": "1MB")"), "caches[0].max_weight",
                    {"expected a non-negative integer"});
  check_parse_error(R"({"scheduler_threads": -1})", "scheduler_threads",
                    {"expected a non-negative integer", "found number -1"});
  check_parse_error(R"({"loader_threads": 0})", "loader_threads",
                    {"expected a positive integer", "found number 0"});
  check_parse_error(one_cache(R"("ttl_jitter": -0.5)"), "caches[0].ttl_jitter",
                    {"expected a number in [0, 1)", "found number -0.5"});
}

TEST_CASE("unknown keys list the known ones", "[config]") {
  check_parse_error(
      one_cache(R"("tll": "5s")"), "caches[0].tll",
      {"caches[0].tll: unknown key; known keys are name, loader, tier1, ttl, negative_ttl"});
  check_parse_error(R"({"loader_thread": 4})", "loader_thread",
                    {"known keys are scheduler_threads, scheduler_policy, loader_threads, "
                     "max_loader_threads, metrics_cycle, metrics_windows, metrics_http, log_level, "
                     "caches, resources"});
  check_parse_error(one_cache(R"("my key": 1)"), R"(caches[0]["my key"])", {"unknown key"});
}

TEST_CASE("cache entries must be objects with a unique name", "[config]") {
  check_parse_error(R"({"caches": [{"loader": "x"}]})", "caches[0].name",
                    {"required key is missing", "expected a string"});
  check_parse_error(R"({"caches": [{"name": "a"}, 5]})", "caches[1]",
                    {"expected an object, found number 5"});
  check_parse_error(R"({"caches": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})",
                    "caches[2].name",
                    {"expected a unique cache name", "found \"a\" which caches[0] already uses"});
  check_parse_error(R"({"caches": [{"name": ""}]})", "caches[0].name",
                    {"expected a non-empty cache name"});
  check_parse_error(one_cache(R"("error_backoff": "10s", "error_backoff_max": "5s")"),
                    "caches[0].error_backoff_max", {"expected at least error_backoff (10s)"});
}

TEST_CASE("load_config_file reports unreadable files", "[config]") {
  auto missing = error_of([] { corral::load_config_file("/nonexistent/corral.json"); });
  CHECK(missing.path().empty());
  CHECK_THAT(missing.what(), Contains("/nonexistent/corral.json"));
  CHECK_THAT(missing.what(), Contains("No such file or directory"));
  auto directory = error_of([] { corral::load_config_file(CORRAL_SOURCE_DIR "/config"); });
  CHECK(directory.path().empty());
  CHECK_THAT(directory.what(), Contains("Is a directory"));
}

TEST_CASE("to_json round-trips through parse_config", "[config]") {
  corral::runtime_config cfg;
  cfg.scheduler_threads = 3;
  cfg.scheduler_policy = "stealing";
  cfg.loader_threads = 17;
  corral::cache_config c;
  c.name = "weird \"name\"\n";
  c.loader = "ld";
  c.ttl = 1500ms;
  c.negative_ttl = 7ns;
  c.stale_while_revalidate = 2min;
  c.stale_if_error = 1h;
  c.ttl_jitter = 0.1;
  c.load_timeout = 3s;
  c.error_backoff = 250ms;
  c.error_backoff_max = 1min;
  c.batch_window = 2ms;
  c.batch_size = 7;
  c.max_entries = 12345;
  c.max_weight = 1u << 30;
  c.prune_interval = 100us;
  c.idle_timeout = 0s;
  c.max_resident_actors = 99;
  cfg.caches.push_back(c);
  cfg.caches.push_back(corral::cache_config{});
  cfg.caches.back().name = "defaults";

  auto text = corral::to_json(cfg);
  INFO(text);
  CHECK_THAT(text, Contains("\"ttl_jitter\": 0.1,"));
  CHECK_THAT(text, Contains("\"ttl\": \"1500ms\","));
  check_same(corral::parse_config(text), cfg);

  auto from_file = corral::load_config_file(CORRAL_SOURCE_DIR "/config/default.json");
  check_same(corral::parse_config(corral::to_json(from_file)), from_file);
}

TEST_CASE("validate checks configs built in code", "[config]") {
  corral::runtime_config cfg;
  cfg.caches.resize(2);
  cfg.caches[0].name = "a";
  cfg.caches[1].name = "b";
  CHECK_NOTHROW(corral::validate(cfg));
  CHECK(cfg.find_cache("b") == &cfg.caches[1]);

  SECTION("loader_threads") {
    cfg.loader_threads = 0;
    check_validate_error(cfg, "loader_threads", "expected a positive integer");
  }
  SECTION("empty name") {
    cfg.caches[1].name = "";
    check_validate_error(cfg, "caches[1].name", "expected a non-empty cache name");
  }
  SECTION("duplicate name") {
    cfg.caches[1].name = "a";
    check_validate_error(cfg, "caches[1].name", "which caches[0] already uses");
  }
  SECTION("ttl_jitter range") {
    for (double jitter : {-0.1, 1.0, 2.0, std::nan("")}) {
      cfg.caches[1].ttl_jitter = jitter;
      check_validate_error(cfg, "caches[1].ttl_jitter", "expected a number in [0, 1)");
    }
    cfg.caches[1].ttl_jitter = 0.999;
    CHECK_NOTHROW(corral::validate(cfg));
  }
  SECTION("negative durations") {
    cfg.caches[1].idle_timeout = -1s;
    check_validate_error(cfg, "caches[1].idle_timeout", "found -1s");
    cfg.caches[1].idle_timeout = 1s;
    cfg.caches[0].ttl = -5ms;
    check_validate_error(cfg, "caches[0].ttl", "expected a non-negative duration");
  }
  SECTION("error_backoff_max") {
    cfg.caches[0].error_backoff = 10s;
    cfg.caches[0].error_backoff_max = 5s;
    check_validate_error(cfg, "caches[0].error_backoff_max", "expected at least error_backoff");
    cfg.caches[0].error_backoff = 0s; // backoff off: max is irrelevant
    cfg.caches[0].error_backoff_max = 0s;
    CHECK_NOTHROW(corral::validate(cfg));
  }
}

TEST_CASE("thread counts are bounded with a config error, not a failed thread start", "[config]") {
  check_parse_error(R"({"loader_threads": 100000000})", "loader_threads",
                    {"expected at most 4096 threads", "found 100000000"});
  check_parse_error(R"({"scheduler_threads": 100000000})", "scheduler_threads",
                    {"expected at most 1024 threads", "found 100000000"});
  CHECK_NOTHROW(corral::parse_config(R"({"loader_threads": 4096, "scheduler_threads": 1024})"));
  corral::runtime_config cfg;
  cfg.loader_threads = 4097;
  check_validate_error(cfg, "loader_threads", "expected at most 4096 threads, found 4097");
  cfg.loader_threads = 8;
  cfg.scheduler_threads = 1025;
  check_validate_error(cfg, "scheduler_threads", "expected at most 1024 threads, found 1025");
}

TEST_CASE("the scheduler policy is sharing by default and one of two names", "[config]") {
  CHECK(corral::runtime_config{}.scheduler_policy == "sharing");
  CHECK(corral::parse_config(R"({"scheduler_policy": "stealing"})").scheduler_policy == "stealing");
  check_parse_error(R"({"scheduler_policy": "fifo"})", "scheduler_policy",
                    {R"(expected "sharing" or "stealing", found "fifo")"});
  check_parse_error(R"({"scheduler_policy": 3})", "scheduler_policy", {"expected a string"});
  corral::runtime_config cfg;
  cfg.scheduler_policy = "";
  check_validate_error(cfg, "scheduler_policy", R"(expected "sharing" or "stealing", found "")");
}

TEST_CASE("a cache's store is checked when the config is parsed", "[config]") {
  auto cfg = corral::parse_config(one_cache(R"("store": {"type": "sqlite", "path": "x.db"},
                                                "write_interval": "250ms", "max_dirty": 7)"));
  REQUIRE(cfg.caches[0].store.json().is_object());
  CHECK(cfg.caches[0].write_interval == std::chrono::milliseconds(250));
  CHECK(cfg.caches[0].max_dirty == 7);
  // Written back and read again unchanged.
  auto again = corral::parse_config(corral::to_json(cfg));
  CHECK(again.caches[0].store == cfg.caches[0].store);
  check_parse_error(one_cache(R"("store": 5)"), "caches[0].store", {"expected a store object"});
  check_parse_error(one_cache(R"("store": {"type": "sqlite"})"), "caches[0].store.path", {});
  check_parse_error(one_cache(R"("store": {"type": "mongo"})"), "caches[0].store.type", {});
  check_parse_error(one_cache(R"("max_dirty": 0)"), "caches[0].max_dirty",
                    {"expected a positive integer"});
  check_parse_error(one_cache(R"("write_interval": 0)"), "caches[0].write_interval",
                    {"expected a positive duration"});
  check_parse_error(one_cache(R"("write_retry": "1s", "write_retry_max": "500ms")"),
                    "caches[0].write_retry_max", {"expected at least write_retry"});
  check_parse_error(one_cache(R"("batch_window": "10s", "load_timeout": "10s")"),
                    "caches[0].batch_window", {"expected less than load_timeout"});
}

TEST_CASE("bulkhead keys: per-cache load bounds and the loader pool's cap", "[config][bulkhead]") {
  auto cfg = corral::parse_config(R"({"loader_threads": 4, "max_loader_threads": 64, "caches": [
      {"name": "a", "max_concurrent_loads": 2, "max_queued_loads": 50}, {"name": "b"}]})");
  CHECK(cfg.max_loader_threads == 64);
  CHECK(cfg.loader_thread_cap() == 64);
  CHECK(cfg.find_cache("a")->max_concurrent_loads == 2);
  CHECK(cfg.find_cache("a")->max_queued_loads == 50);
  // Defaults: the bulkhead is loader_threads (0), the queue bounded, the cap automatic.
  CHECK(cfg.find_cache("b")->max_concurrent_loads == 0);
  CHECK(cfg.find_cache("b")->max_queued_loads == 10000);
  check_same(cfg, corral::parse_config(corral::to_json(cfg)));
  corral::runtime_config automatic;
  CHECK(automatic.loader_thread_cap() == corral::default_max_loader_threads);
  automatic.loader_threads = 1000;
  CHECK(automatic.loader_thread_cap() == 1000);

  check_parse_error(one_cache(R"("max_concurrent_loads": -1)"), "caches[0].max_concurrent_loads",
                    {"expected a non-negative integer", "found number -1"});
  check_parse_error(one_cache(R"("max_queued_loads": "10")"), "caches[0].max_queued_loads",
                    {"expected a non-negative integer", "found string"});
  check_parse_error(one_cache(R"("max_concurrent_loads": 5000)"), "caches[0].max_concurrent_loads",
                    {"at most 4096 loads", "found 5000"});
  check_parse_error(R"({"loader_threads": 8, "max_loader_threads": 4})", "max_loader_threads",
                    {"from loader_threads (8) to 4096 threads", "found 4"});
  check_parse_error(R"({"max_loader_threads": 5000})", "max_loader_threads",
                    {"to 4096 threads", "found 5000"});
  corral::runtime_config code;
  code.caches.resize(1);
  code.caches[0].name = "a";
  code.caches[0].max_concurrent_loads = 4097;
  check_validate_error(code, "caches[0].max_concurrent_loads", "at most 4096 loads");
  code.caches[0].max_concurrent_loads = 4096;
  code.max_loader_threads = 8; // equal to loader_threads: the pool never grows
  CHECK_NOTHROW(corral::validate(code));
}
