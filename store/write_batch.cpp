#include <corral/store/write_batch.hpp>

#include <exception>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace corral {

namespace {

/// How one step of a transaction ended.
struct step_failure {
  bool fatal = false;
  std::string message;
};

std::optional<step_failure> attempt(const std::function<void()>& step) {
  try {
    step();
    return std::nullopt;
  } catch (const store_failure& ex) {
    return step_failure{ex.fault == store_fault::fatal, ex.what()};
  } catch (const std::exception& ex) { // an unknown failure: never worth losing data over
    return step_failure{false, ex.what()};
  } catch (...) {
    return step_failure{false, "store threw a non-standard exception"};
  }
}

void log(const write_behind_hooks& hooks, write_log_level level, const std::string& text) {
  if (!hooks.log)
    return;
  try {
    hooks.log(level, text);
  } catch (...) { // a logging hook must not change what happens to the data
  }
}

/// After a commit: the rows the store handed back replace the saved bytes of their records,
/// so that the writer merges what the store holds (generated fields included) into the cache.
/// The batch is committed whatever happens here; a failure only costs the cached copies their
/// generated fields, until the next write of the key finds them (the merge before a save).
void take_stored(write_store& store, store_session& session, std::vector<store_record>& records,
                 const write_behind_hooks& hooks) {
  std::vector<stored_row> rows;
  if (auto f = attempt([&] { rows = session.take_stored(); })) {
    log(hooks, write_log_level::warn,
        store.name() + ": committed, but the stored rows could not be taken: " + f->message);
    return;
  }
  if (rows.empty())
    return;
  std::unordered_map<std::string_view, store_record*> by_key;
  for (auto& rec : records)
    by_key.emplace(rec.key, &rec);
  for (auto& row : rows)
    if (auto i = by_key.find(row.key); i != by_key.end())
      i->second->value = std::move(row.value);
}

} // namespace

batch_report write_batch(write_store& store, std::unique_ptr<store_session>& session,
                         std::vector<store_record> records, const write_behind_hooks& hooks) {
  batch_report report;
  auto give_up = [&](const std::string& step, const step_failure& f) {
    report.retry = true;
    report.error = store.name() + ": " + step + " failed: " + f.message;
    if (session && !session->usable())
      session.reset();
    log(hooks, write_log_level::warn,
        report.error + "; " + std::to_string(records.size()) + " items stay dirty");
  };
  auto roll_back = [&] {
    if (auto f = attempt([&] { session->rollback(); }); f && session && !session->usable())
      session.reset();
  };
  while (!records.empty()) {
    if (!session || !session->usable()) {
      if (auto f = attempt([&] { session = store.open(); }); f || !session) {
        give_up("open", f.value_or(step_failure{false, "open returned no session"}));
        return report;
      }
    }
    ++report.transactions;
    if (auto f = attempt([&] { session->begin(); })) {
      give_up("begin", *f); // a failed begin never drops the batch, fatal or not
      return report;
    }
    std::optional<std::size_t> fatal_at;
    step_failure failure;
    for (std::size_t i = 0; i < records.size() && !fatal_at; ++i) {
      auto& rec = records[i];
      if (hooks.merge) {
        std::optional<std::string> stored;
        if (auto f = attempt([&] { stored = session->find(rec.key); })) {
          roll_back();
          give_up("find '" + rec.key + "'", *f);
          return report;
        }
        if (stored) {
          if (auto f = attempt([&] { rec.value = hooks.merge(rec.value, *stored); })) {
            f->fatal = true; // the merge hook cannot handle this item: it never will
            failure = *f;
            fatal_at = i;
            break;
          }
        }
      }
      if (auto f = attempt([&] { session->save(rec); })) {
        if (!f->fatal) {
          roll_back();
          give_up("save '" + rec.key + "'", *f);
          return report;
        }
        failure = *f;
        fatal_at = i;
      }
    }
    if (fatal_at) {
      // The transaction is spoiled (PostgreSQL aborts it): roll back, dead-letter the item,
      // and write the others in a new transaction.
      roll_back();
      dead_record dead{std::move(records[*fatal_at]), store.name() + ": " + failure.message};
      records.erase(records.begin() + static_cast<std::ptrdiff_t>(*fatal_at));
      if (hooks.dead_letter) {
        try {
          hooks.dead_letter(dead.record, dead.error);
        } catch (...) { // the hook saw it; its own failure does not resurrect the item
        }
      }
      log(hooks, write_log_level::warn, "dead-lettered '" + dead.record.key + "': " + dead.error);
      report.dead.push_back(std::move(dead));
      continue;
    }
    if (auto f = attempt([&] { session->commit(); })) {
      roll_back();
      give_up("commit", *f); // fatal or not, a failed commit keeps the whole batch dirty
      return report;
    }
    log(hooks, write_log_level::info,
        store.name() + ": committed " + std::to_string(records.size()) + " items");
    take_stored(store, *session, records, hooks);
    report.written = std::move(records);
    return report;
  }
  return report;
}

} // namespace corral
