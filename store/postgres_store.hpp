// PostgreSQL through libpq. Each session is one connection with its statements prepared once.
// A batch (begin ... commit) is buffered and sent by commit() in pipeline mode: BEGIN, the
// upserts, COMMIT, one round trip per 500 items. An item the server refuses (a constraint
// violation) aborts the transaction, so nothing of the batch is written; commit() reports it as
// store_items_rejected (fatal for that key) and the store remembers it, so that the writer's
// retry of the batch sees that item fail at save() and commits the rest (refused_items.hpp).
// Outside a batch, save() runs at once and reports a refusal itself.
#pragma once

#include <corral/store/refused_items.hpp>
#include <corral/store/write_store.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace corral {

struct postgres_store_options {
  /// libpq connection string ("host=... port=... dbname=..." or a postgresql:// URI). When
  /// empty, the environment variable named by `conninfo_env` is used if set, else libpq's own
  /// PG* variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, ...).
  std::string conninfo;
  std::string conninfo_env{"CORRAL_PG_CONNINFO"};
  /// Default table `<table>(key text PRIMARY KEY, value bytea NOT NULL, version bigint NOT
  /// NULL)`, created when absent. An identifier, optionally `schema.table`.
  std::string table{"corral_kv"};
  /// Optional user upsert: $1 key (text), $2 value (bytea), $3 version (bigint). It must
  /// itself refuse to lower a row's version (see store_record). With RETURNING, the first
  /// column of its first row is the value as stored (codec bytes, like find_sql's): a
  /// write-behind cache merges it into the cached item (write_hooks<V>::merge), so that an
  /// id generated on insert (identity, serial) is cached after the first write.
  std::string upsert_sql;
  /// Optional user lookup: $1 key; the first column of the first row is the value.
  std::string find_sql;
  /// Connecting gives up after this long (libpq connect_timeout, whole seconds, at least 1).
  /// A connection string's own connect_timeout wins.
  std::chrono::seconds connect_timeout{5};
};

class postgres_store : public write_store {
public:
  /// Throws std::invalid_argument for a table name that is not an identifier. Connects to
  /// nothing: that happens in open().
  explicit postgres_store(postgres_store_options options);
  std::string name() const override { return "postgres"; }
  std::unique_ptr<store_session> open() override;
  const postgres_store_options& options() const { return options_; }

private:
  postgres_store_options options_;
  std::string upsert_sql_;
  std::string find_sql_;
  std::string create_sql_;
  std::mutex create_mutex_;
  bool table_ready_{false};
  std::shared_ptr<refused_items> refused_{std::make_shared<refused_items>()};
};

} // namespace corral
