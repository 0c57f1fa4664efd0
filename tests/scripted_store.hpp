// An in-memory write_store whose failures are scripted, for message-level write-behind tests
// (the lazy writer's NoOp handler with its "errorOnNext" steps, made explicit).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/write_store.hpp"

namespace corral::test {

class scripted_store final : public write_store,
                             public std::enable_shared_from_this<scripted_store> {
public:
  /// A scripted failure: the next call of `op` ("begin", "find", "save", "commit",
  /// "rollback"), optionally only for `key`, fails this way.
  struct step {
    std::string op;
    std::string key;                  // empty = any key
    std::optional<store_fault> fault; // nullopt = throw std::runtime_error (not a store_failure)
    std::string message;
  };

  std::map<std::string, store_record> rows; // committed
  std::vector<std::string> calls;           // "begin", "save k", "commit", ...
  std::deque<step> script;
  std::size_t opened = 0;

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

  void maybe_fail(const std::string& op, const std::string& key = "") {
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
      auto& row = store_->rows[r.key];
      if (r.version > row.version) // the version guard every real store has
        row = r;
      store_->committed_saves.push_back(r.key);
    }
    pending_.clear();
  }
  void rollback() override {
    pending_.clear();
    store_->maybe_fail("rollback");
  }

private:
  std::shared_ptr<scripted_store> store_;
  std::vector<store_record> pending_;
};

inline std::unique_ptr<store_session> scripted_store::open() {
  ++opened;
  return std::make_unique<scripted_session>(shared_from_this());
}

} // namespace corral::test
