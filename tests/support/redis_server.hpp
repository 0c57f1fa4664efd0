// A real redis-server for tests: on a free 127.0.0.1 port, in a fresh temp dir (removed by the
// destructor). stop() and start() again keep the port and the data (append-only file), so a
// test can take the server away in the middle of a drain and bring it back.
//
//   corral::test::redis_server redis;               // started and answering PING
//   corral::redis_store_options o; o.port = redis.port();
//   redis.stop(); ... redis.start();                 // same port, same data
#pragma once

#include "server_process.hpp"

#include <hiredis/hiredis.h>

#include <chrono>
#include <string>

namespace corral::test {

class redis_server {
public:
  /// Starts the server; throws std::runtime_error (with the log) when it does not answer.
  redis_server() : dir_("corral-redis"), port_(free_loopback_port()) { start(); }
  ~redis_server() { process_.stop(SIGKILL, std::chrono::seconds(10)); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// Starts it again (after stop() or kill()) on the same port and data; waits for PING.
  void start() {
    if (process_.running())
      return;
    process_.spawn({"/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_),
                    "--dir", dir_.path().string(), "--save", "", "--appendonly", "yes",
                    "--appendfsync", "everysec", "--daemonize", "no", "--protected-mode", "no",
                    "--logfile", ""},
                   log(), {});
    wait_until_ready(
        "redis-server on port " + std::to_string(port_), process_,
        [this] { return answers_ping(); }, log(), std::chrono::seconds(20));
  }

  /// Graceful shutdown (SIGTERM: the append-only file is flushed, nothing acknowledged is
  /// lost); returns once the process has exited, so the port refuses connections.
  void stop() { process_.stop(SIGTERM, std::chrono::seconds(20)); }

  /// Abrupt death (SIGKILL): up to the last second of writes may be lost (appendfsync
  /// everysec), as with a real crash.
  void kill() { process_.stop(SIGKILL, std::chrono::seconds(5)); }

  bool running() { return process_.running(); }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::filesystem::path log() const { return dir_.path() / "redis.log"; }

private:
  bool answers_ping() const {
    timeval tv{0, 200'000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = false;
    if (c && !c->err) {
      redisSetTimeout(c, tv);
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      // LOADING (replaying the append-only file) is an error reply: not ready yet.
      ok = r && r->type == REDIS_REPLY_STATUS;
      if (r)
        freeReplyObject(r);
    }
    if (c)
      redisFree(c);
    return ok;
  }

  temp_dir dir_;
  int port_;
  child_process process_;
};

} // namespace corral::test
