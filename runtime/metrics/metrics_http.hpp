// The optional scrape endpoint (runtime_config::metrics_http): GET /metrics answers the
// Prometheus text format, GET /metrics.json the JSON of every cache, anything else 404.
//
// Served with cpp-httplib, which Debian packages and which is small: the endpoint renders our
// own snapshots (metrics_format.hpp) on each request. prometheus-cpp's exposer would instead
// want every histogram copied into its own registry. httplib.h stays inside metrics_http.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <corral/runtime/metrics/metrics.hpp>

namespace corral {

class metrics_http_server {
public:
  /// Every cache's snapshot, read on one of the server's own threads (never a CAF thread).
  using snapshot_source = std::function<std::vector<metrics_snapshot>()>;

  /// Binds `listen` (validated "host:port", see listen_address.hpp) now, without serving yet:
  /// a failure throws config_error for "metrics_http.listen" naming the address.
  explicit metrics_http_server(const std::string& listen);
  /// Stops and joins the server thread.
  ~metrics_http_server();
  metrics_http_server(const metrics_http_server&) = delete;
  metrics_http_server& operator=(const metrics_http_server&) = delete;

  /// Starts answering requests (those that arrived since the bind wait in the backlog).
  void start(snapshot_source snapshots);
  /// Stops accepting, finishes the requests being answered and joins. Idempotent.
  void stop();
  /// The bound port (the system's pick when the configured port was 0).
  std::uint16_t port() const noexcept;

private:
  struct impl;
  std::shared_ptr<impl> impl_; // shared with the serving thread, which may outlive stop()
};

} // namespace corral
