#include <corral/runtime/metrics/metrics_http.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
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
  bool started = false;
  bool stopped = false;
};

metrics_http_server::metrics_http_server(const std::string& listen)
    : impl_(std::make_unique<impl>()) {
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
  auto& server = impl_->server;
  server.Get("/metrics", [snapshots](const httplib::Request&, httplib::Response& res) {
    res.set_content(to_prometheus(snapshots()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/metrics.json", [snapshots](const httplib::Request&, httplib::Response& res) {
    res.set_content(to_json(snapshots()), "application/json");
  });
  impl_->thread = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->listen_returned = true;
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
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

std::uint16_t metrics_http_server::port() const noexcept {
  return impl_->port;
}

} // namespace corral
