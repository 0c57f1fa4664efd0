// Write-behind (the lazy writer cache; see docs/design.md, "Nothing is lost silently"): put()
// updates the entry at once and marks it dirty; the cache's writer actor (store/writer_actor.hpp)
// drains dirty entries to a write_store in batches, one transaction each. Nothing is lost: a dirty
// entry is never evicted, passivated, expired or replaced by a load, and stops being dirty only
// once it is committed (and no newer put came meanwhile) or handed to the dead-letter hook.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <corral/runtime/codec.hpp>
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/engine/executor.hpp>
#include <corral/store/flush_result.hpp>
#include <corral/store/write_batch.hpp>
#include <corral/store/write_store.hpp>

namespace corral {

/// The typed hooks of a write-behind cache of V (all optional).
template <class V> struct write_hooks {
  /// The lazy writer's CopyKeyDataFrom: copy the fields the store owns (a generated id, ...)
  /// from `stored` into `item`. Called before a save with the stored row (found in the same
  /// transaction), and after the commit with the row as stored (the one the save handed back,
  /// store_session::take_stored, else the saved item) into the cached value: so an id the
  /// database generates on insert is cached after the first write.
  std::function<void(V& item, const V& stored)> merge;
  /// An item the store refused for good, with the error, before it stops being dirty.
  std::function<void(const std::string& key, const V& value, const std::string& error)> dead_letter;
  /// The writer's events (failed batches, dead letters, commits, the shutdown report), also
  /// sent to the runtime's log sink (runtime::on_log) whether this is set or not.
  std::function<void(write_log_level, const std::string&)> log;
};

/// The per-cache write-behind state shared by handles (put, flush) and the writer actor.
struct write_behind_link {
  std::shared_ptr<write_store> store;
  executor* writes = nullptr; // the writer's own thread (a manual executor in tests)
  write_behind_hooks hooks;
  /// Merges a stored item's bytes into the cached entry (the typed merge hook); empty = none.
  std::function<std::unique_ptr<entry>(const entry& cached, std::string_view saved)> merge_back;

  /// Set by a put that finds the backlog at write_batch_size; cleared by the writer when it
  /// drains, so that a flood of puts sends one message.
  std::atomic<bool> drain_requested{false};

  /// Puts between their `closing` check and their publish: shutdown waits for these to end
  /// before it flushes, so that no accepted put can miss the shutdown flush.
  std::atomic<int> puts_in_flight{0};

  /// Puts waiting for room under max_dirty.
  std::mutex room_mtx;
  std::condition_variable room_cv;
  void room_made() {
    std::lock_guard<std::mutex> guard{room_mtx};
    room_cv.notify_all();
  }
};

/// A link with no hooks (caches declared in JSON).
inline std::shared_ptr<write_behind_link> make_write_behind(std::shared_ptr<write_store> store) {
  auto link = std::make_shared<write_behind_link>();
  link->store = std::move(store);
  return link;
}

template <class V>
std::shared_ptr<write_behind_link> make_write_behind(std::shared_ptr<write_store> store,
                                                     write_hooks<V> hooks) {
  static_assert(has_codec<V>::value, "a write-behind cache stores codec bytes: give V a "
                                     "corral::codec (see runtime/codec.hpp)");
  auto link = make_write_behind(std::move(store));
  link->hooks.log = std::move(hooks.log);
  if (hooks.dead_letter) {
    link->hooks.dead_letter = [f = std::move(hooks.dead_letter)](const store_record& r,
                                                                 const std::string& err) {
      f(r.key, codec<V>::decode(r.value), err);
    };
  }
  if (hooks.merge) {
    auto merge = hooks.merge;
    link->hooks.merge = [merge](std::string_view item, std::string_view stored) {
      V v = codec<V>::decode(item);
      merge(v, codec<V>::decode(stored));
      std::string out;
      codec<V>::encode(v, out);
      return out;
    };
    link->merge_back = [merge](const entry& cached,
                               std::string_view saved) -> std::unique_ptr<entry> {
      auto out = std::make_unique<value_entry<V>>(static_cast<const value_entry<V>&>(cached).value);
      merge(out->value, codec<V>::decode(saved));
      out->expires_at = cached.expires_at;
      out->refresh_at = cached.refresh_at;
      return out;
    };
  }
  return link;
}

} // namespace corral
