#include <corral/runtime/metrics/metrics_http.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <sys/socket.h>

#include <corral/runtime/config/config.hpp>
#include <corral/runtime/config/listen_address.hpp>
#include <corral/runtime/metrics/metrics_format.hpp>

namespace corral {

struct metrics_http_server::impl {
  httplib::Server server;
  std::uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::promise<void> finished; // set when the serving thread is done with the server
  /// What a scrape reads; cleared by stop(), so that a scrape still being served after stop()
  /// (a slow client) never reads a runtime that is going away.
  std::mutex source_mtx;
  snapshot_source source;
  bool started = false;
  bool stopped = false;
};

metrics_http_server::metrics_http_server(const std::string& listen)
    : impl_(std::make_shared<impl>()) {
  std::string why;
  auto address = parse_listen_address(listen, why);
  if (!address)
    throw config_error("metrics_http.listen", why + ", found \"" + listen + "\"");
  auto& server = impl_->server;
  // A scrape is one short request: two threads and short timeouts keep an idle or slow client
  // from holding the shutdown for long.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_keep_alive_timeout(1);
  server.set_read_timeout(5);
  server.set_write_timeout(5);
  // httplib's default options add SO_REUSEPORT, with which a second runtime on a taken port
  // binds without error and the two silently share the scrapes. SO_REUSEADDR alone still lets
  // a restarted process rebind a port left in TIME_WAIT.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  errno = 0;
  int port = address->port;
  bool bound = port == 0 ? (port = server.bind_to_any_port(address->host)) > 0
                         : server.bind_to_port(address->host, port);
  if (!bound) {
    int err = errno;
    throw config_error("metrics_http.listen",
                       "cannot listen on " + format_listen_address(*address) +
                           (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  impl_->port = static_cast<std::uint16_t>(port);
}

metrics_http_server::~metrics_http_server() {
  stop();
}

void metrics_http_server::start(snapshot_source snapshots) {
  if (impl_->started || impl_->stopped)
    return;
  impl_->started = true;
  impl_->source = std::move(snapshots);
  auto& server = impl_->server;
  impl* self = impl_.get(); // the handlers live in self->server, so self outlives them
  auto serve = [self](httplib::Response& res, bool json) {
    std::lock_guard<std::mutex> guard{self->source_mtx};
    if (!self->source) {
      res.status = 503; // the runtime is shutting down
      return;
    }
    auto snapshots = self->source();
    if (json)
      res.set_content(to_json(snapshots), "application/json");
    else
      res.set_content(to_prometheus(snapshots), "text/plain; version=0.0.4; charset=utf-8");
  };
  server.Get("/metrics",
             [serve](const httplib::Request&, httplib::Response& res) { serve(res, false); });
  server.Get("/metrics.json",
             [serve](const httplib::Request&, httplib::Response& res) { serve(res, true); });
  impl_->thread = std::thread([keep = impl_] {
    keep->server.listen_after_bind();
    keep->listen_returned = true;
    keep->finished.set_value();
  });
  // httplib's stop() does nothing until the loop runs (is_running()); waiting here for it, a
  // few microseconds, makes a stop() right after start() effective instead of a hang.
  while (!server.is_running() && !impl_->listen_returned)
    std::this_thread::yield();
}

void metrics_http_server::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  {
    std::lock_guard<std::mutex> guard{impl_->source_mtx}; // waits for a scrape being read
    impl_->source = nullptr;
  }
  impl_->server.stop();
  if (!impl_->thread.joinable())
    return;
  // httplib lets the requests it accepted finish, each bounded only per read: a client sending
  // a byte every few seconds would hold shutdown for as long as it likes. After 2 s the thread
  // is left to finish on its own; it owns the server and reads nothing of the runtime.
  if (impl_->finished.get_future().wait_for(std::chrono::seconds(2)) == std::future_status::ready)
    impl_->thread.join();
  else
    impl_->thread.detach();
}

std::uint16_t metrics_http_server::port() const noexcept {
  return impl_->port;
}

} // namespace corral
