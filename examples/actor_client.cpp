// A CAF actor that uses a cache only through its message interface (corral::cache_actor), as
// an actor on another node would: values travel as codec bytes, failures as caf::error.
// The steps run one after another so that the output reads as a script.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <corral/runtime/caf_interop.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>
#include <corral/runtime/runtime.hpp>

using namespace std::chrono_literals;

namespace {

std::atomic<int> loader_calls{0};

std::optional<double> quote(const std::string& ticker) {
  ++loader_calls;
  static const std::map<std::string, double> quotes = {{"AAPL", 189.25}, {"MSFT", 402.10}};
  auto i = quotes.find(ticker);
  if (i == quotes.end())
    return std::nullopt; // the client sees errc::not_found
  return i->second;
}

struct client_state {
  static inline const char* name = "actor_client";
  corral::cache_actor cache;
  std::shared_ptr<std::promise<int>> done; // main waits on it; carries the failure count
  int failures = 0;
};

using client = caf::stateful_actor<client_state>;

// Never wait forever on a reply: a lost answer must fail the example, not hang it.
constexpr auto reply_timeout = std::chrono::seconds(5);

void check(client* self, bool ok, const char* what) {
  if (!ok) {
    ++self->state.failures;
    std::printf("UNEXPECTED: %s\n", what);
  }
}

// get_atom: the reply is the value's bytes, decoded with the cache's codec.
// `expect` is the price we should see, or nullopt when the key must be not_found.
void get(client* self, const std::string& key, std::optional<double> expect,
         std::function<void()> next) {
  self->request(self->state.cache, reply_timeout, corral::get_atom::value, key)
      .then(
          [=](const std::string& bytes) {
            double price = corral::codec<double>::decode(bytes);
            std::printf("get %s -> %.2f\n", key.c_str(), price);
            check(self, expect && *expect == price, "wrong value");
            next();
          },
          [=](const caf::error& err) {
            auto e = corral::from_caf_error(err);
            std::printf("get %s -> %s: %s\n", key.c_str(), corral::to_string(e.code),
                        e.message.c_str());
            check(self, !expect && e.code == corral::errc::not_found, "unexpected error");
            next();
          });
}

void fail_step(client* self, const char* step, const caf::error& err) {
  std::printf("%s failed: %s\n", step, corral::from_caf_error(err).message.c_str());
  check(self, false, step);
}

void stop(client* self) {
  self->state.done->set_value(self->state.failures);
  self->quit();
}

// The cache's metrics, asked for by message like everything else this client does.
void print_metrics(client* self) {
  self->request(self->state.cache, reply_timeout, corral::metrics_atom::value)
      .then(
          [=](const corral::metrics_snapshot& m) {
            std::printf("%s\n", corral::format_table(m).c_str());
            stop(self);
          },
          [=](const caf::error& err) {
            fail_step(self, "metrics", err);
            stop(self);
          });
}

void finish(client* self) {
  self->request(self->state.cache, reply_timeout, corral::status_atom::value)
      .then(
          [=](const corral::cache_status& s) {
            std::printf("status: cache=%s entries=%llu resident_actors=%llu busy_actors=%llu\n",
                        s.cache.c_str(), static_cast<unsigned long long>(s.entries),
                        static_cast<unsigned long long>(s.resident_actors),
                        static_cast<unsigned long long>(s.busy_actors));
            print_metrics(self);
          },
          [=](const caf::error& err) {
            fail_step(self, "status", err);
            stop(self);
          });
}

caf::behavior client_impl(client* self, corral::cache_actor cache,
                          std::shared_ptr<std::promise<int>> done) {
  self->state.cache = std::move(cache);
  self->state.done = std::move(done);
  // put_atom takes the value as codec bytes, exactly what a remote node would send.
  std::string bytes;
  corral::codec<double>::encode(1.08, bytes);
  self->request(self->state.cache, reply_timeout, corral::put_atom::value, "EURUSD", bytes)
      .then(
          [=](corral::ok_atom) {
            std::printf("put EURUSD -> ok\n");
            // EURUSD comes from the put: the loader does not know it.
            get(self, "AAPL", 189.25, [=] {
              get(self, "EURUSD", 1.08, [=] {
                get(self, "NOPE", std::nullopt, [=] {
                  self->request(self->state.cache, reply_timeout, corral::invalidate_atom::value,
                                std::string{"AAPL"})
                      .then(
                          [=](corral::ok_atom) {
                            std::printf("invalidate AAPL -> ok\n");
                            // The invalidated key is loaded again on the next request.
                            get(self, "AAPL", 189.25, [=] { finish(self); });
                          },
                          [=](const caf::error& err) {
                            fail_step(self, "invalidate", err);
                            finish(self);
                          });
                });
              });
            });
          },
          [=](const caf::error& err) {
            fail_step(self, "put", err);
            finish(self);
          });
  // All work happens in response handlers; the actor itself handles no incoming messages.
  return {};
}

} // namespace

int main() {
  corral::runtime rt;
  corral::cache_config cfg;
  cfg.name = "prices";
  auto prices = rt.make_cache<double>(cfg, quote);

  auto done = std::make_shared<std::promise<int>>();
  auto finished = done->get_future();
  rt.system().spawn(client_impl, corral::actor_of(prices), done);
  // The actor answers within a few reply timeouts at most; waiting longer means a hang.
  if (finished.wait_for(30s) != std::future_status::ready) {
    std::printf("actor client did not finish\n");
    return 1;
  }
  int failures = finished.get();
  // AAPL twice (before and after the invalidate) and NOPE once; EURUSD never.
  std::printf("loader calls: %d\n", loader_calls.load());
  std::printf("failures: %d\n", failures);
  rt.shutdown();
  return failures == 0 && loader_calls == 3 ? 0 : 1;
}
