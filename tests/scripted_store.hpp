// An in-memory write_store whose failures are scripted, for message-level write-behind tests
// (the lazy writer's NoOp handler with its "errorOnNext" steps, made explicit).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <corral/store/write_store.hpp>

namespace corral::test {

class scripted_store final : public write_store,
                             public std::enable_shared_from_this<scripted_store> {
public:
  /// A scripted failure: the next call of `op` ("begin", "find", "save", "commit",
  /// "rollback", "take_stored"), optionally only for `key`, fails this way.
  struct step {
    std::string op;
    std::string key;                  // empty = any key
    std::optional<store_fault> fault; // nullopt = throw std::runtime_error (not a store_failure)
    std::string message;
  };

  std::map<std::string, store_record> rows; // committed
  std::vector<std::string> calls;           // "begin", "save k", "commit", ...
  std::size_t stored_taken = 0;             // take_stored() calls (not in `calls`)
  std::deque<step> script;
  std::size_t opened = 0;
  /// When set, a store that fills in fields of its own: a committed save stores
  /// `stored_as(saved, previous row or nullptr)` instead of the saved bytes, and take_stored()
  /// hands those rows back (like SQL's RETURNING).
  std::function<std::string(const store_record& saved, const store_record* previous)> stored_as;

  std::string name() const override { return "scripted"; }
  std::unique_ptr<store_session> open() override;

  void fail_next(std::string op, std::optional<store_fault> fault = store_fault::recoverable,
                 std::string message = "deadlock detected", std::string key = "") {
    script.push_back({std::move(op), std::move(key), fault, std::move(message)});
  }

  /// Committed saves of `key`.
  std::size_t saves_of(const std::string& key) const {
    std::size_t n = 0;
    for (const auto& c : committed_saves)
      n += c == key;
    return n;
  }
  std::vector<std::string> committed_saves;

  void maybe_fail(const std::string& op, const std::string& key = "", bool record = true) {
    if (record)
      calls.push_back(key.empty() ? op : op + " " + key);
    for (auto i = script.begin(); i != script.end(); ++i) {
      if (i->op != op || (!i->key.empty() && i->key != key))
        continue;
      auto s = *i;
      script.erase(i);
      if (!s.fault)
        throw std::runtime_error(s.message);
      throw store_failure(*s.fault, s.message);
    }
  }
};

class scripted_session final : public store_session {
public:
  explicit scripted_session(std::shared_ptr<scripted_store> store) : store_(std::move(store)) {}
  void begin() override {
    store_->maybe_fail("begin");
    pending_.clear();
    returned_.clear();
  }
  std::optional<std::string> find(const std::string& key) override {
    store_->maybe_fail("find", key);
    auto i = store_->rows.find(key);
    if (i == store_->rows.end())
      return std::nullopt;
    return i->second.value;
  }
  void save(const store_record& r) override {
    store_->maybe_fail("save", r.key);
    pending_.push_back(r);
  }
  void commit() override {
    store_->maybe_fail("commit");
    for (auto& r : pending_) {
      auto i = store_->rows.find(r.key);
      if (i == store_->rows.end() || r.version > i->second.version) { // the version guard
        store_record row = r;
        if (store_->stored_as) {
          row.value = store_->stored_as(r, i == store_->rows.end() ? nullptr : &i->second);
          returned_.push_back({row.key, row.value});
        }
        store_->rows[r.key] = std::move(row);
      }
      store_->committed_saves.push_back(r.key);
    }
    pending_.clear();
  }
  void rollback() override {
    pending_.clear();
    returned_.clear();
    store_->maybe_fail("rollback");
  }
  std::vector<stored_row> take_stored() override {
    ++store_->stored_taken;
    store_->maybe_fail("take_stored", "", false);
    return std::exchange(returned_, {});
  }

private:
  std::shared_ptr<scripted_store> store_;
  std::vector<store_record> pending_;
  std::vector<stored_row> returned_;
};

inline std::unique_ptr<store_session> scripted_store::open() {
  ++opened;
  return std::make_unique<scripted_session>(shared_from_this());
}

} // namespace corral::test
