#include <corral/store/sqlite_store.hpp>

#include <corral/store/sql_identifier.hpp>
#include <corral/store/store_error.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace corral {
namespace {

// Errors about the item itself can never succeed on retry; everything else (locks, I/O, a
// full disk, a file that cannot be opened now) may, so the item stays dirty.
store_fault classify(int code) {
  switch (code & 0xff) {
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_TOOBIG:
  case SQLITE_RANGE:
    return store_fault::fatal;
  default:
    return store_fault::recoverable;
  }
}

// After these the connection itself is suspect: the writer opens a fresh one.
bool breaks_connection(int code) {
  switch (code & 0xff) {
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_PROTOCOL:
  case SQLITE_NOMEM:
    return true;
  default:
    return false;
  }
}

struct statement {
  sqlite3_stmt* handle{nullptr};
  statement() = default;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(handle); }
};

class sqlite_session final : public store_session {
public:
  sqlite_session(const sqlite_store_options& options, const std::string& describe,
                 const std::string& create_sql, const std::string& upsert_sql,
                 const std::string& find_sql)
      : describe_(describe) {
    int rc =
        sqlite3_open_v2(options.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw_store_failure(describe_, "open", "", store_fault::recoverable, detail);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(std::min<long long>(
                                  options.busy_timeout.count(), static_cast<long long>(INT_MAX))));
    // Setup failures are recoverable whatever their code: nothing about an item is wrong.
    exec_setup("PRAGMA journal_mode=WAL");
    exec_setup(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (!create_sql.empty())
      exec_setup(create_sql.c_str());
    prepare(begin_, "BEGIN IMMEDIATE"); // take the write lock now: no lock upgrade deadlock later
    prepare(commit_, "COMMIT");
    prepare(rollback_, "ROLLBACK");
    prepare(upsert_, upsert_sql);
    prepare(find_, find_sql);
  }

  ~sqlite_session() override {
    // Statements first: sqlite3_close_v2 would otherwise defer closing until they are gone.
    sqlite3_finalize(begin_.handle);
    sqlite3_finalize(commit_.handle);
    sqlite3_finalize(rollback_.handle);
    sqlite3_finalize(upsert_.handle);
    sqlite3_finalize(find_.handle);
    begin_.handle = commit_.handle = rollback_.handle = upsert_.handle = find_.handle = nullptr;
    sqlite3_close_v2(db_); // an open transaction is rolled back
  }

  void begin() override {
    returned_.clear();
    run(begin_, "begin");
  }

  std::optional<std::string> find(const std::string& key) override {
    sqlite3_stmt* s = find_.handle;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    std::optional<std::string> out;
    if (rc == SQLITE_ROW) {
      auto* data = static_cast<const char*>(sqlite3_column_blob(s, 0));
      out.emplace(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    } else if (rc != SQLITE_DONE) {
      fail(rc, "find", key);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return out;
  }

  void save(const store_record& record) override {
    if (record.version > static_cast<std::uint64_t>(INT64_MAX))
      throw_store_failure(describe_, "save", record.key, store_fault::fatal,
                          "version " + std::to_string(record.version) +
                              " does not fit an SQLite INTEGER");
    sqlite3_stmt* s = upsert_.handle;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, record.key.data(), static_cast<int>(record.key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, record.value.data(), static_cast<int>(record.value.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(record.version));
    int rc = sqlite3_step(s);
    // A user upsert with RETURNING: the first column of its first row is the value as stored
    // (generated fields filled in), handed back by take_stored(); further rows are drained.
    std::optional<std::string> stored;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
      auto* data = static_cast<const char*>(sqlite3_column_blob(s, 0));
      stored.emplace(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
    while (rc == SQLITE_ROW)
      rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
      fail(rc, "save", record.key);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (stored)
      returned_.push_back({record.key, std::move(*stored)});
  }

  void commit() override { run(commit_, "commit"); }

  void rollback() override {
    returned_.clear();
    // Idempotent: SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
    if (db_ && !sqlite3_get_autocommit(db_))
      run(rollback_, "rollback");
  }

  std::vector<stored_row> take_stored() override { return std::exchange(returned_, {}); }

  bool usable() const override { return usable_; }

private:
  void exec_setup(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string detail = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw_store_failure(describe_, std::string("open (") + sql + ")", "",
                          store_fault::recoverable, detail);
    }
  }

  void prepare(statement& st, const std::string& sql) {
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &st.handle, nullptr);
    if (rc != SQLITE_OK)
      throw_store_failure(describe_, "open (prepare " + sql + ")", "", store_fault::recoverable,
                          sqlite3_errmsg(db_));
  }

  void run(statement& st, const char* operation) {
    sqlite3_reset(st.handle);
    int rc = sqlite3_step(st.handle);
    sqlite3_reset(st.handle);
    if (rc != SQLITE_DONE)
      fail(rc, operation, "", store_fault::recoverable);
  }

  [[noreturn]] void fail(int rc, const std::string& operation, const std::string& key) {
    fail(rc, operation, key, classify(rc));
  }

  [[noreturn]] void fail(int rc, const std::string& operation, const std::string& key,
                         store_fault fault) {
    std::string detail = std::string(sqlite3_errmsg(db_)) + " (" + sqlite3_errstr(rc) + ")";
    if (breaks_connection(rc))
      usable_ = false;
    // Reset the statement that failed so that the session stays usable for the next item.
    sqlite3_reset(upsert_.handle);
    sqlite3_reset(find_.handle);
    throw_store_failure(describe_, operation, key, fault, detail);
  }

  std::string describe_;
  sqlite3* db_{nullptr};
  statement begin_, commit_, rollback_, upsert_, find_;
  std::vector<stored_row> returned_; // RETURNING rows of the saves since begin()
  bool usable_{true};
};

// The unqualified part of `schema.table`, for use as the row's name in the upsert's WHERE.
std::string unqualified(const std::string& table) {
  auto dot = table.find('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

} // namespace

sqlite_store::sqlite_store(sqlite_store_options options) : options_(std::move(options)) {
  if (options_.path.empty())
    throw std::invalid_argument("sqlite store: the database path is empty");
  describe_ = "sqlite store \"" + options_.path + "\"";
  default_table_ = options_.upsert_sql.empty() || options_.find_sql.empty();
  if (default_table_ && !valid_sql_identifier(options_.table))
    throw std::invalid_argument(describe_ + ": table name \"" + options_.table +
                                "\" is not an identifier (letters, digits and _)");
  const std::string& t = options_.table;
  upsert_sql_ = !options_.upsert_sql.empty()
                    ? options_.upsert_sql
                    : "INSERT INTO " + t +
                          " (key, value, version) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE "
                          "SET value = excluded.value, version = excluded.version WHERE "
                          "excluded.version > " +
                          unqualified(t) + ".version";
  find_sql_ =
      !options_.find_sql.empty() ? options_.find_sql : "SELECT value FROM " + t + " WHERE key = ?1";
}

std::unique_ptr<store_session> sqlite_store::open() {
  std::string create;
  {
    std::lock_guard<std::mutex> lock(create_mutex_);
    if (default_table_ && !table_ready_)
      create = "CREATE TABLE IF NOT EXISTS " + options_.table +
               " (key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL)";
  }
  auto session =
      std::make_unique<sqlite_session>(options_, describe_, create, upsert_sql_, find_sql_);
  if (!create.empty()) {
    std::lock_guard<std::mutex> lock(create_mutex_);
    table_ready_ = true;
  }
  return session;
}

} // namespace corral
