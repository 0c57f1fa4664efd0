// The storage interface of write-behind caches (see docs/design.md, "Nothing is lost silently"):
// the writer actor drains dirty entries into a write_store, one transaction per batch, and a cache
// miss may look a key up through it. Values cross this interface as codec bytes
// (runtime/codec.hpp), so one store serves caches of any value type.
//
// Errors are classified, because the writer's reaction depends on it:
//   recoverable  deadlock, lost connection, timeout, server restarting: the items stay dirty
//                and are retried with backoff;
//   fatal        this item can never be written as it is (constraint violation, bad data):
//                it goes to the dead-letter hook and stops being dirty.
// A store reports a failure by throwing store_failure. Any other exception is treated as
// recoverable: losing data because of an unexpected exception type is never the right call.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corral {

enum class store_fault { recoverable, fatal };

struct store_failure : std::runtime_error {
  store_failure(store_fault f, const std::string& message)
      : std::runtime_error(message), fault(f) {}
  store_fault fault;
};

/// Thrown by commit() of a store that can only refuse items at commit time (Redis: no rollback
/// inside EXEC): the batch was committed except for the listed items, which failed for a reason
/// about the item itself, i.e. fatal for them alone. The writer dead-letters those and treats
/// every other item of the batch as written. A writer that does not know this type sees a fatal
/// store_failure from commit().
struct store_items_rejected : store_failure {
  store_items_rejected(const std::string& message,
                       std::vector<std::pair<std::string, std::string>> rejected)
      : store_failure(store_fault::fatal, message), items(std::move(rejected)) {}
  /// (key, reason) of every item that was not written.
  std::vector<std::pair<std::string, std::string>> items;
};

/// One dirty entry as the store sees it. `version` grows with every put of the key; a store
/// must never replace a row with one of a lower version (no older value over a newer one, even
/// when a batch is retried after a commit whose acknowledgement was lost).
struct store_record {
  std::string key;
  std::string value;
  std::uint64_t version{0};
};

/// A saved item as the store holds it, when the store filled in fields of its own on the way
/// (an auto-increment id, a default, a timestamp): the value, as codec bytes like find()'s.
struct stored_row {
  std::string key;
  std::string value;
};

/// One connection to the store. Used by one thread at a time (not thread-safe).
class store_session {
public:
  virtual ~store_session() = default;
  virtual void begin() = 0;
  /// The stored value of `key`, or nullopt when there is none. Inside a transaction when one
  /// is open, else on its own.
  virtual std::optional<std::string> find(const std::string& key) = 0;
  /// Upsert, guarded by version (see store_record).
  virtual void save(const store_record& record) = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  /// The rows the committed saves handed back (SQL RETURNING, a Redis script's reply) since
  /// begin(), or outside a transaction since the last call, and forgets them; a rolled back
  /// transaction hands back nothing. The writer calls it once after each successful commit()
  /// and merges each row into the cached value (write_hooks<V>::merge), so that fields
  /// generated on insert reach the cache without a second write; a key with no row is merged
  /// from the bytes it saved. Default: none, which is right for a store that stores the saved
  /// bytes as they are (and keeps stores written before this existed working unchanged).
  virtual std::vector<stored_row> take_stored() { return {}; }
  /// False once the connection is known to be broken; the writer then opens a new session.
  virtual bool usable() const { return true; }
};

/// A store: a factory of sessions. Thread-safe.
class write_store {
public:
  virtual ~write_store() = default;
  /// "sqlite", "postgres", "redis" or a custom store's name; used in logs and metrics.
  virtual std::string name() const = 0;
  /// Opens a new session. Throws store_failure(recoverable) when the store is unreachable.
  virtual std::unique_ptr<store_session> open() = 0;
};

} // namespace corral
