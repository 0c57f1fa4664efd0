// The embedded default store: one SQLite file, in WAL mode so that readers never block the
// writer, with a busy timeout so that a second process holding the lock is waited for rather
// than reported at once.
#pragma once

#include <corral/store/write_store.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace corral {

struct sqlite_store_options {
  /// The database file; created when absent.
  std::string path;
  /// Default table `<table>(key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT
  /// NULL)`, created when absent. Must be an identifier (letters, digits, `_`).
  std::string table{"corral_kv"};
  /// Optional user upsert, parameters ?1 key (text), ?2 value (blob), ?3 version (integer).
  /// It must itself refuse to lower a row's version (see store_record). With RETURNING, the
  /// first column of its first row is the value as stored (codec bytes, like find_sql's): a
  /// write-behind cache merges it into the cached item (write_hooks<V>::merge), so that an
  /// id generated on insert is cached after the first write.
  std::string upsert_sql;
  /// Optional user lookup, parameter ?1 key; the first column of the first row is the value.
  std::string find_sql;
  /// How long a statement waits for a lock held by another connection before SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
  /// PRAGMA synchronous: true = FULL (a commit survives power loss), false = NORMAL (WAL's
  /// usual setting: survives a process crash, may lose the last commits on power loss).
  bool synchronous_full{true};
};

class sqlite_store : public write_store {
public:
  /// Throws std::invalid_argument for an empty path or a table name that is not an
  /// identifier. Touches no file: that happens in open().
  explicit sqlite_store(sqlite_store_options options);
  std::string name() const override { return "sqlite"; }
  std::unique_ptr<store_session> open() override;
  const sqlite_store_options& options() const { return options_; }

private:
  sqlite_store_options options_;
  std::string describe_;
  std::string upsert_sql_;
  std::string find_sql_;
  bool default_table_;
  // The CREATE TABLE runs once per store, not per session.
  std::mutex create_mutex_;
  bool table_ready_{false};
};

} // namespace corral
