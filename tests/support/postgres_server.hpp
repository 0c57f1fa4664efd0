// A real PostgreSQL server for tests: initdb into a fresh temp dir (removed by the destructor),
// listening on 127.0.0.1 and a free port, socket in the temp dir, trust auth, fsync off (tests
// do not survive power loss; they do survive a server restart). stop() and start() again keep
// the port and the data, for fault injection in the middle of a drain.
//
// As root (CI), initdb and postgres refuse to run, so they run as the `postgres` system user
// (created by the Debian package) and the temp dir is chowned to it; as anyone else they run
// as that user. Binaries: /usr/lib/postgresql/<highest version>/bin, or $CORRAL_PG_BIN.
//
//   corral::test::postgres_server pg;                 // initdb'd, started, accepting queries
//   corral::postgres_store_options o; o.conninfo = pg.conninfo();
//   pg.stop(); ... pg.start();                          // same port, same data
#pragma once

#include "server_process.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace corral::test {

/// The bin directory of the newest PostgreSQL installed (or $CORRAL_PG_BIN); throws if none.
inline std::filesystem::path postgres_bin_dir() {
  if (const char* env = std::getenv("CORRAL_PG_BIN"))
    return env;
  std::filesystem::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    int version = std::atoi(name.c_str());
    if (version > best_version && std::filesystem::exists(entry.path() / "bin" / "postgres")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best_version < 0)
    throw std::runtime_error("no PostgreSQL server found in /usr/lib/postgresql/<version>/bin "
                             "(install the postgresql package, or set CORRAL_PG_BIN)");
  return best;
}

class postgres_server {
public:
  /// Runs initdb and starts the server; throws std::runtime_error (with the log) on failure.
  postgres_server()
      : user_(run_as::system_user_if_root("postgres")), dir_("corral-pg", user_),
        bin_(postgres_bin_dir()), port_(free_loopback_port()) {
    run_to_completion({(bin_ / "initdb").string(), "-D", data_dir().string(), "-A", "trust", "-U",
                       "corral", "-E", "UTF8", "--locale=C", "--no-sync"},
                      dir_.path() / "initdb.log", user_, std::chrono::seconds(120));
    start();
  }
  ~postgres_server() { process_.stop(SIGQUIT, std::chrono::seconds(10)); }
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// Starts it again (after stop() or kill()) on the same port and data; returns once a
  /// connection succeeds.
  void start() {
    if (process_.running())
      return;
    process_.spawn({(bin_ / "postgres").string(), "-D", data_dir().string(), "-p",
                    std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c",
                    "unix_socket_directories=" + dir_.path().string(), "-c", "fsync=off", "-c",
                    "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                    "max_connections=60"},
                   log(), user_);
    wait_until_ready(
        "postgres on port " + std::to_string(port_), process_,
        [this] { return PQping((conninfo() + " connect_timeout=1").c_str()) == PQPING_OK; }, log(),
        std::chrono::seconds(60));
  }

  /// Fast shutdown (SIGINT: sessions are disconnected, open transactions roll back, committed
  /// data stays); returns once the server has exited, so the port refuses connections.
  void stop() { process_.stop(SIGINT, std::chrono::seconds(30)); }

  /// Immediate shutdown (SIGQUIT: like a crash; the next start runs recovery). Committed data
  /// survives because the WAL is still written, only not fsynced.
  void kill() { process_.stop(SIGQUIT, std::chrono::seconds(10)); }

  bool running() { return process_.running(); }
  int port() const { return port_; }
  /// A libpq connection string for the superuser `corral` and database `postgres`.
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=corral";
  }
  std::filesystem::path log() const { return dir_.path() / "postgres.log"; }

private:
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }

  run_as user_;
  temp_dir dir_;
  std::filesystem::path bin_;
  int port_;
  child_process process_;
};

} // namespace corral::test
