// Redis through hiredis (single node; no cluster: a batch spans many hash slots).
//
// Layout: the item `key` lives in the hash `<prefix><key>` with the fields `value` (the bytes)
// and `version` (decimal). Every save is a small Lua script that writes the hash only when the
// stored version is absent or lower, so a retried batch never puts an older value over a
// newer one. The script refuses a key that holds something other than a hash (WRONGTYPE):
// corral never overwrites data it did not write.
//
// Batches: begin() starts buffering; save() buffers the item (a later find() in the same batch
// sees it); commit() sends MULTI, one EVALSHA per item and EXEC in a single round trip, so the
// batch is applied atomically (no other client sees half of it). Redis cannot roll back inside
// EXEC, so an item the script refuses is reported by commit() as store_items_rejected (fatal for
// those keys only; every other item of the batch is committed). The store also remembers the
// refused (key, version): a writer that simply retries the batch sees the next save() of that
// item (same or lower version) fail as fatal at once, dead-letters it, and commits the rest
// (rewriting the others is harmless: the version guard). Outside a batch, save() runs the
// script at once and reports a refusal itself.
//
// Generated fields (store_session::take_stored): a Redis hash generates nothing by itself, and
// the built-in script stores the saved bytes as they are, so by default nothing is handed
// back and the cache keeps what it saved. A field the store generates takes a user script
// (`save_script`): it may build the stored value itself (an id from INCR for a new key, a
// server timestamp, ...) and return it as a bulk string; that reply is handed back after the
// commit and merged into the cached item (write_hooks<V>::merge).
#pragma once

#include <corral/store/refused_items.hpp>
#include <corral/store/write_store.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace corral {

struct redis_store_options {
  std::string host{"127.0.0.1"};
  int port{6379};
  /// Prepended to every key; the store owns this namespace.
  std::string prefix{"corral:"};
  /// Connect and per-command timeout: nothing waits longer on a dead server.
  std::chrono::milliseconds timeout{2000};
  /// Sent with AUTH after connecting when not empty.
  std::string password;
  /// SELECT-ed after connecting.
  int database{0};
  /// Optional user save script (Lua), replacing the built-in one: KEYS[1] the hash
  /// `<prefix><key>`, ARGV[1] the version (decimal), ARGV[2] the value. It must keep the
  /// layout (find() reads the hash field `value`) and itself refuse to lower the stored
  /// version (see store_record). A bulk-string reply is the value as stored, handed back by
  /// take_stored(); any other reply hands back nothing. An error reply fails the save,
  /// classified like the built-in script's (WRONGTYPE is fatal for the item, the rest
  /// recoverable).
  std::string save_script;
};

class redis_store : public write_store {
public:
  /// Throws std::invalid_argument for an empty host, a port outside 1..65535 or a zero timeout.
  explicit redis_store(redis_store_options options);
  std::string name() const override { return "redis"; }
  std::unique_ptr<store_session> open() override;
  const redis_store_options& options() const { return options_; }

private:
  redis_store_options options_;
  std::shared_ptr<refused_items> refused_{std::make_shared<refused_items>()};
};

} // namespace corral
