// One write-behind batch against a store: a transaction holding every record, run on the
// writer's own thread (store calls block; they never run on CAF's scheduler). Pure logic with
// no actor in it, so that each failure path is tested directly with a scripted store.
//
// What becomes of each record (see docs/design.md, "Nothing is lost silently"):
//   committed      in `written`, with the bytes the store holds: the row its save handed
//                  back (store_session::take_stored: generated fields filled in), else the
//                  bytes saved (after the merge hook);
//   fatal on save  rolled back, handed to the dead-letter hook with the error, counted, and
//                  listed in `dead`; the rest of the batch is retried at once without it;
//   anything else  (begin, find, commit or rollback failing, a recoverable save error, a throw
//                  of any type): the whole remaining batch stays dirty, `retry` is set and the
//                  writer backs off.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <corral/store/write_store.hpp>

namespace corral {

enum class write_log_level { info, warn };

/// The type-erased hooks of a write-behind cache (typed ones in store/write_behind.hpp).
struct write_behind_hooks {
  /// The key-field merge (the lazy writer's CopyKeyDataFrom), on codec bytes: fields the store
  /// owns are copied from `stored` into `item`. Empty = no merge, and no find before a save.
  std::function<std::string(std::string_view item, std::string_view stored)> merge;
  /// Called once per record that can never be written, before it stops being dirty.
  std::function<void(const store_record&, const std::string& error)> dead_letter;
  std::function<void(write_log_level, const std::string&)> log;
};

struct dead_record {
  store_record record;
  std::string error;
};

struct batch_report {
  std::vector<store_record> written; // committed, as stored (see above)
  std::vector<dead_record> dead;     // dead-lettered
  bool retry = false;                // the rest stays dirty: back off and try again
  std::string error;                 // why, when retry is set
  std::size_t transactions = 0;      // begun, including rolled back ones
};

/// Writes `records` in one transaction (more if fatal items must be left out). `session` is
/// opened when absent or unusable, and reset when it breaks. Never throws.
batch_report write_batch(write_store& store, std::unique_ptr<store_session>& session,
                         std::vector<store_record> records, const write_behind_hooks& hooks);

} // namespace corral
