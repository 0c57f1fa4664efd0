#include "store/postgres_store.hpp"

#include "store/sql_identifier.hpp"
#include "store/store_error.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace corral {
namespace {

const char* const describe = "postgres store";

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;
struct conn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); } // the server rolls back an open transaction
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;

std::string trimmed(const char* message) {
  std::string out = message ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

// By SQLSTATE class: data exceptions (22), integrity violations (23), WITH CHECK OPTION (44)
// and errors raised by user triggers (P0) concern the item and can never succeed as it is.
// Everything else (08 connection, 40 deadlock/serialization, 53 resources, 57 operator
// intervention, 58 system, 55 lock not available, unknown codes) may pass on a retry.
store_fault classify(const std::string& sqlstate) {
  auto cls = sqlstate.substr(0, 2);
  if (cls == "22" || cls == "23" || cls == "44" || cls == "P0")
    return store_fault::fatal;
  return store_fault::recoverable;
}

class postgres_session final : public store_session {
public:
  postgres_session(conn_ptr conn, const std::string& upsert_sql, const std::string& find_sql)
      : owned_(std::move(conn)), conn_(owned_.get()) {
    // Key in text format with its type inferred (a user table may key by varchar); value and
    // version in binary, typed so that no escaping or number formatting is needed.
    const Oid upsert_types[] = {0, 17 /* bytea */, 20 /* int8 */};
    prepare("corral_upsert", upsert_sql, 3, upsert_types);
    const Oid find_types[] = {0};
    prepare("corral_find", find_sql, 1, find_types);
  }

  void begin() override { command("BEGIN", "begin"); }

  std::optional<std::string> find(const std::string& key) override {
    check_key(key, "find");
    const char* values[] = {key.c_str()};
    const int lengths[] = {0};
    const int formats[] = {0};
    auto res = run_prepared("corral_find", 1, values, lengths, formats, "find", key);
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) == 0 ||
        PQnfields(res.get()) == 0 || PQgetisnull(res.get(), 0, 0))
      return std::nullopt;
    return std::string(PQgetvalue(res.get(), 0, 0),
                       static_cast<std::size_t>(PQgetlength(res.get(), 0, 0)));
  }

  void save(const store_record& record) override {
    check_key(record.key, "save");
    if (record.version > static_cast<std::uint64_t>(INT64_MAX))
      throw_store_failure(describe, "save", record.key, store_fault::fatal,
                          "version " + std::to_string(record.version) + " does not fit a bigint");
    char version[8];
    for (int i = 0; i < 8; ++i) // int8 binary format: big-endian
      version[i] = static_cast<char>((record.version >> (56 - 8 * i)) & 0xff);
    const char* values[] = {record.key.c_str(), record.value.data(), version};
    const int lengths[] = {0, static_cast<int>(record.value.size()), 8};
    const int formats[] = {0, 1, 1};
    run_prepared("corral_upsert", 3, values, lengths, formats, "save", record.key);
  }

  void commit() override {
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      // COMMIT would silently roll back; say so instead, so that the batch stays dirty.
      result_ptr(PQexec(conn_, "ROLLBACK"));
      throw_store_failure(describe, "commit", "", store_fault::recoverable,
                          "the transaction was aborted by an earlier error and was rolled back");
    }
    auto res = command("COMMIT", "commit");
    if (std::strcmp(PQcmdStatus(res.get()), "COMMIT") != 0)
      throw_store_failure(describe, "commit", "", store_fault::recoverable,
                          std::string("the server answered ") + PQcmdStatus(res.get()));
  }

  void rollback() override {
    // Idempotent; a broken connection has no transaction left to roll back.
    if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) == PQTRANS_IDLE)
      return;
    command("ROLLBACK", "rollback");
  }

  bool usable() const override { return usable_ && PQstatus(conn_) == CONNECTION_OK; }

private:
  static void check_key(const std::string& key, const char* operation) {
    if (key.find('\0') != std::string::npos)
      throw_store_failure(describe, operation, key, store_fault::fatal,
                          "a PostgreSQL text key cannot contain a NUL byte");
  }

  void prepare(const char* name, const std::string& sql, int n, const Oid* types) {
    result_ptr res(PQprepare(conn_, name, sql.c_str(), n, types));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK)
      fail(res.get(), "open (prepare " + sql + ")", "", store_fault::recoverable);
  }

  result_ptr command(const char* sql, const char* operation) {
    result_ptr res(PQexec(conn_, sql));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK)
      fail(res.get(), operation, "", store_fault::recoverable);
    return res;
  }

  // Runs a prepared statement. Inside a transaction it is wrapped in a savepoint, all three
  // statements pipelined into one round trip, so that its failure leaves the transaction
  // usable for the other items.
  result_ptr run_prepared(const char* statement, int n, const char* const* values,
                          const int* lengths, const int* formats, const char* operation,
                          const std::string& key) {
    if (PQtransactionStatus(conn_) != PQTRANS_INTRANS) {
      result_ptr res(PQexecPrepared(conn_, statement, n, values, lengths, formats, 1));
      auto st = PQresultStatus(res.get());
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail(res.get(), operation, key);
      return res;
    }
    if (PQenterPipelineMode(conn_) != 1)
      fail(nullptr, operation, key, store_fault::recoverable);
    bool sent = PQsendQueryParams(conn_, "SAVEPOINT corral_item", 0, nullptr, nullptr, nullptr,
                                  nullptr, 0) == 1 &&
                PQsendQueryPrepared(conn_, statement, n, values, lengths, formats, 1) == 1 &&
                PQsendQueryParams(conn_, "RELEASE SAVEPOINT corral_item", 0, nullptr, nullptr,
                                  nullptr, nullptr, 0) == 1 &&
                PQpipelineSync(conn_) == 1;
    if (!sent) {
      PQexitPipelineMode(conn_);
      usable_ = false;
      fail(nullptr, operation, key, store_fault::recoverable);
    }
    result_ptr results[3];
    for (auto& r : results) {
      r.reset(PQgetResult(conn_));
      if (!r) // the connection broke mid-pipeline
        break;
      while (PGresult* extra = PQgetResult(conn_)) // each query's results end with a null
        PQclear(extra);
    }
    result_ptr sync(PQgetResult(conn_));
    bool synced = sync && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
    if (!synced || PQexitPipelineMode(conn_) != 1) {
      usable_ = false;
      fail(nullptr, operation, key, store_fault::recoverable);
    }
    auto ok = [](const result_ptr& r) {
      auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
      return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    };
    if (ok(results[0]) && ok(results[1]) && ok(results[2]))
      return std::move(results[1]);
    // Undo just this statement; the rest of the transaction stays good. Should this fail
    // too, commit() sees the aborted transaction and reports it.
    result_ptr(PQexec(conn_, "ROLLBACK TO SAVEPOINT corral_item"));
    if (!ok(results[0]))
      fail(results[0].get(), operation + std::string(" (savepoint)"), key,
           store_fault::recoverable);
    fail(results[1].get(), operation, key);
  }

  [[noreturn]] void fail(const PGresult* res, const std::string& operation,
                         const std::string& key) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    fail(res, operation, key, classify(state ? state : ""));
  }

  [[noreturn]] void fail(const PGresult* res, const std::string& operation, const std::string& key,
                         store_fault fault) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string detail = res ? trimmed(PQresultErrorMessage(res)) : "";
    if (detail.empty())
      detail = trimmed(PQerrorMessage(conn_));
    if (state)
      detail += std::string(" (SQLSTATE ") + state + ")";
    std::string cls = state ? std::string(state).substr(0, 2) : "";
    if (PQstatus(conn_) != CONNECTION_OK || cls == "08" || cls == "57") {
      usable_ = false;
      fault = store_fault::recoverable; // a lost connection says nothing about the item
    }
    throw_store_failure(describe, operation, key, fault, detail);
  }

  conn_ptr owned_; // closed even when the constructor throws
  PGconn* conn_;
  bool usable_{true};
};

} // namespace

postgres_store::postgres_store(postgres_store_options options) : options_(std::move(options)) {
  bool default_table = options_.upsert_sql.empty() || options_.find_sql.empty();
  if (default_table && !valid_sql_identifier(options_.table))
    throw std::invalid_argument(std::string(describe) + ": table name \"" + options_.table +
                                "\" is not an identifier (letters, digits and _, optionally "
                                "schema.table)");
  const std::string& t = options_.table;
  upsert_sql_ = !options_.upsert_sql.empty()
                    ? options_.upsert_sql
                    : "INSERT INTO " + t +
                          " AS t (key, value, version) VALUES ($1, $2, $3) ON CONFLICT (key) DO "
                          "UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version WHERE "
                          "EXCLUDED.version > t.version";
  find_sql_ =
      !options_.find_sql.empty() ? options_.find_sql : "SELECT value FROM " + t + " WHERE key = $1";
  if (default_table)
    create_sql_ = "CREATE TABLE IF NOT EXISTS " + t +
                  " (key text PRIMARY KEY, value bytea NOT NULL, version bigint NOT NULL)";
}

std::unique_ptr<store_session> postgres_store::open() {
  std::string conninfo = options_.conninfo;
  if (conninfo.empty() && !options_.conninfo_env.empty())
    if (const char* env = std::getenv(options_.conninfo_env.c_str()))
      conninfo = env;
  // connect_timeout comes before dbname so that the connection string's own setting wins.
  std::string timeout = std::to_string(std::max<long long>(1, options_.connect_timeout.count()));
  std::vector<const char*> keys{"connect_timeout"};
  std::vector<const char*> values{timeout.c_str()};
  if (!conninfo.empty()) {
    keys.push_back("dbname");
    values.push_back(conninfo.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ptr conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn)
    throw_store_failure(describe, "open", "", store_fault::recoverable, "out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw_store_failure(describe, "open", "", store_fault::recoverable,
                        trimmed(PQerrorMessage(conn.get())));
  // NOTICEs ("relation already exists, skipping") would go to stderr; they say nothing useful.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::lock_guard<std::mutex> lock(create_mutex_);
  if (!create_sql_.empty() && !table_ready_) {
    result_ptr res(PQexec(conn.get(), create_sql_.c_str()));
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    // Two processes creating the table at once: the loser sees duplicate_table or a unique
    // violation on the catalog, and the table exists either way.
    bool raced = state && (std::strcmp(state, "42P07") == 0 || std::strcmp(state, "23505") == 0);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && !raced) {
      throw_store_failure(describe, "open (create table " + options_.table + ")", "",
                          store_fault::recoverable, trimmed(PQresultErrorMessage(res.get())));
    }
    table_ready_ = true;
  }
  return std::make_unique<postgres_session>(std::move(conn), upsert_sql_, find_sql_);
}

} // namespace corral
