#include <corral/store/postgres_store.hpp>

#include <corral/store/sql_identifier.hpp>
#include <corral/store/store_error.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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

// The version in int8 binary format: big-endian.
struct version_bytes {
  explicit version_bytes(std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  }
  char bytes[8];
};

// The first column of the first row of a statement's result (binary format: a bytea is its
// bytes), or nullopt when it returned none.
std::optional<std::string> first_value(const PGresult* res) {
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0 || PQnfields(res) == 0 ||
      PQgetisnull(res, 0, 0))
    return std::nullopt;
  return std::string(PQgetvalue(res, 0, 0), static_cast<std::size_t>(PQgetlength(res, 0, 0)));
}

// Items per pipeline sync in a commit: bounds what the server buffers for us between reads.
constexpr std::size_t chunk = 500;

class postgres_session final : public store_session {
public:
  postgres_session(conn_ptr conn, const std::string& upsert_sql, const std::string& find_sql,
                   std::shared_ptr<refused_items> refused)
      : owned_(std::move(conn)), conn_(owned_.get()), refused_(std::move(refused)) {
    // Key in text format with its type inferred (a user table may key by varchar); value and
    // version in binary, typed so that no escaping or number formatting is needed.
    const Oid upsert_types[] = {0, 17 /* bytea */, 20 /* int8 */};
    prepare("corral_upsert", upsert_sql, 3, upsert_types);
    const Oid find_types[] = {0};
    prepare("corral_find", find_sql, 1, find_types);
  }

  // A batch is buffered and sent whole by commit(): one round trip per `chunk` items instead
  // of one per item.
  void begin() override {
    batch_.clear();
    returned_.clear();
    in_batch_ = true;
  }

  std::optional<std::string> find(const std::string& key) override {
    check_key(key, "find");
    if (in_batch_) // read your own writes within the batch
      for (auto it = batch_.rbegin(); it != batch_.rend(); ++it)
        if (it->key == key)
          return it->value;
    const char* values[] = {key.c_str()};
    const int lengths[] = {0};
    const int formats[] = {0};
    result_ptr res(PQexecPrepared(conn_, "corral_find", 1, values, lengths, formats, 1));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK)
      fail(res.get(), "find", key);
    return first_value(res.get());
  }

  void save(const store_record& record) override {
    check_key(record.key, "save");
    if (record.version > static_cast<std::uint64_t>(INT64_MAX))
      throw_store_failure(describe, "save", record.key, store_fault::fatal,
                          "version " + std::to_string(record.version) + " does not fit a bigint");
    if (auto reason = refused_->take(record.key, record.version))
      throw_store_failure(describe, "save", record.key, store_fault::fatal,
                          "refused at an earlier commit: " + *reason);
    if (in_batch_) {
      batch_.push_back(record);
      return;
    }
    version_bytes version(record.version);
    const char* values[] = {record.key.c_str(), record.value.data(), version.bytes};
    const int lengths[] = {0, static_cast<int>(record.value.size()), 8};
    const int formats[] = {0, 1, 1};
    result_ptr res(PQexecPrepared(conn_, "corral_upsert", 3, values, lengths, formats, 1));
    auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      fail(res.get(), "save", record.key);
    if (auto stored = first_value(res.get()))
      returned_.push_back({record.key, std::move(*stored)});
  }

  // BEGIN, the upserts and COMMIT in pipeline mode, a sync every `chunk` items. The first
  // error aborts the transaction (the server skips the rest up to the next sync, and later
  // chunks are not sent); nothing of the batch is then written. A fatal error names its item
  // in store_items_rejected and is remembered, so that the item fails at its next save().
  // The rows the upserts return (a user upsert's RETURNING) are kept for take_stored() once
  // the whole batch is committed.
  void commit() override {
    std::vector<store_record> batch;
    batch.swap(batch_);
    in_batch_ = false;
    if (batch.empty())
      return;
    if (PQenterPipelineMode(conn_) != 1)
      fail(nullptr, "commit", "", store_fault::recoverable);
    result_ptr error;                  // the first failed statement's result
    std::size_t error_item = SIZE_MAX; // its index in batch, SIZE_MAX for BEGIN/COMMIT
    bool broken = false;
    std::vector<stored_row> returned;
    for (std::size_t from = 0; from <= batch.size() && !error && !broken; from += chunk) {
      std::size_t to = std::min(batch.size(), from + chunk);
      bool first = from == 0, last = to == batch.size();
      bool sent = !first || send_plain("BEGIN");
      std::vector<version_bytes> versions;
      versions.reserve(to - from);
      for (std::size_t i = from; i < to && sent; ++i) {
        const auto& r = batch[i];
        versions.emplace_back(r.version);
        const char* values[] = {r.key.c_str(), r.value.data(), versions.back().bytes};
        const int lengths[] = {0, static_cast<int>(r.value.size()), 8};
        const int formats[] = {0, 1, 1};
        sent = PQsendQueryPrepared(conn_, "corral_upsert", 3, values, lengths, formats, 1) == 1;
      }
      sent = sent && (!last || send_plain("COMMIT")) && PQpipelineSync(conn_) == 1;
      if (!sent) {
        broken = true;
        break;
      }
      // Results in order: BEGIN?, each item, COMMIT?, then the sync.
      std::size_t expected = (to - from) + (first ? 1 : 0) + (last ? 1 : 0);
      for (std::size_t n = 0; n < expected && !broken; ++n) {
        result_ptr r(PQgetResult(conn_));
        if (!r) {
          broken = true;
          break;
        }
        while (PGresult* extra = PQgetResult(conn_)) // each statement's results end with null
          PQclear(extra);
        auto st = PQresultStatus(r.get());
        std::size_t index = n - (first ? 1 : 0);
        std::size_t item = (first && n == 0) || index >= to - from ? SIZE_MAX : from + index;
        if (st == PGRES_FATAL_ERROR && !error) {
          error_item = item;
          error = std::move(r);
        } else if (st == PGRES_TUPLES_OK && item != SIZE_MAX) {
          if (auto stored = first_value(r.get()))
            returned.push_back({batch[item].key, std::move(*stored)});
        } else if (last && n + 1 == expected && st == PGRES_COMMAND_OK &&
                   std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0 && !error) {
          error = std::move(r); // COMMIT answered ROLLBACK
        }
      }
      result_ptr sync(broken ? nullptr : PQgetResult(conn_));
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC)
        broken = true;
      if (last)
        break;
    }
    if (broken || PQexitPipelineMode(conn_) != 1) {
      usable_ = false;
      fail(nullptr, "commit", "", store_fault::recoverable);
    }
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) // an error left the transaction open
      result_ptr(PQexec(conn_, "ROLLBACK"));
    if (!error) {
      returned_ = std::move(returned);
      return;
    }
    if (error_item == SIZE_MAX) {
      if (PQresultStatus(error.get()) == PGRES_FATAL_ERROR)
        fail(error.get(), "commit", "", store_fault::recoverable);
      throw_store_failure(describe, "commit", "", store_fault::recoverable,
                          std::string("the server answered ") + PQcmdStatus(error.get()));
    }
    const auto& bad = batch[error_item];
    std::string message = failure_text(error.get(), "commit (save)", bad.key);
    const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
    if (classify(state ? state : "") == store_fault::recoverable || !usable())
      throw store_failure(
          store_fault::recoverable,
          store_message(describe, "commit (save)", bad.key, store_fault::recoverable, message));
    refused_->remember(bad.key, bad.version, message);
    throw store_items_rejected(
        store_message(describe, "commit", "", store_fault::fatal,
                      "key \"" + bad.key +
                          "\" refused, nothing of the batch was written: " + message),
        {{bad.key, message}});
  }

  void rollback() override {
    batch_.clear(); // nothing reached the server before commit()
    returned_.clear();
    in_batch_ = false;
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_INERROR)
      result_ptr(PQexec(conn_, "ROLLBACK"));
  }

  bool usable() const override { return usable_ && PQstatus(conn_) == CONNECTION_OK; }

  std::vector<stored_row> take_stored() override { return std::exchange(returned_, {}); }

private:
  static void check_key(const std::string& key, const char* operation) {
    if (key.find('\0') != std::string::npos)
      throw_store_failure(describe, operation, key, store_fault::fatal,
                          "a PostgreSQL text key cannot contain a NUL byte");
  }

  bool send_plain(const char* sql) {
    return PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }

  void prepare(const char* name, const std::string& sql, int n, const Oid* types) {
    result_ptr res(PQprepare(conn_, name, sql.c_str(), n, types));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK)
      fail(res.get(), "open (prepare " + sql + ")", "", store_fault::recoverable);
  }

  std::string failure_text(const PGresult* res, const std::string&, const std::string&) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string detail = res ? trimmed(PQresultErrorMessage(res)) : "";
    if (detail.empty())
      detail = trimmed(PQerrorMessage(conn_));
    if (state)
      detail += std::string(" (SQLSTATE ") + state + ")";
    std::string cls = state ? std::string(state).substr(0, 2) : "";
    if (PQstatus(conn_) != CONNECTION_OK || cls == "08" || cls == "57")
      usable_ = false;
    return detail;
  }

  [[noreturn]] void fail(const PGresult* res, const std::string& operation,
                         const std::string& key) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    fail(res, operation, key, classify(state ? state : ""));
  }

  [[noreturn]] void fail(const PGresult* res, const std::string& operation, const std::string& key,
                         store_fault fault) {
    std::string detail = failure_text(res, operation, key);
    if (!usable_)
      fault = store_fault::recoverable; // a lost connection says nothing about the item
    throw_store_failure(describe, operation, key, fault, detail);
  }

  conn_ptr owned_; // closed even when the constructor throws
  PGconn* conn_;
  std::shared_ptr<refused_items> refused_;
  std::vector<store_record> batch_;
  std::vector<stored_row> returned_; // RETURNING rows of the last commit (or lone saves)
  bool in_batch_{false};
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
  return std::make_unique<postgres_session>(std::move(conn), upsert_sql_, find_sql_, refused_);
}

} // namespace corral
