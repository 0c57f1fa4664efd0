#include <corral/store/redis_store.hpp>

#include <corral/store/store_error.hpp>

#include <hiredis/hiredis.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace corral {
namespace {

// KEYS[1] the hash, ARGV[1] the version (decimal, no leading zeros), ARGV[2] the value.
// Versions are compared as decimal strings (length, then text) so that 64-bit versions stay
// exact: Lua numbers are doubles.
const char* const save_script = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'hash' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE the key holds a ' .. t .. ', not a corral hash')
end
local cur = redis.call('HGET', KEYS[1], 'version')
local v = ARGV[1]
if cur and (#cur > #v or (#cur == #v and cur >= v)) then
  return 0
end
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', v)
return 1
)lua";

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

// Error replies that say something about the item: it holds another type, or it is too big.
// Everything else (OOM, LOADING, BUSY, READONLY, MASTERDOWN, unknown) may pass on a retry.
store_fault classify(const std::string& error) {
  auto starts = [&](const char* p) { return error.rfind(p, 0) == 0; };
  if (starts("WRONGTYPE") || error.find("WRONGTYPE") != std::string::npos ||
      starts("ERR string exceeds maximum allowed size"))
    return store_fault::fatal;
  return store_fault::recoverable;
}

bool is_noscript(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && std::string(r->str, r->len).rfind("NOSCRIPT", 0) == 0;
}

class redis_session final : public store_session {
public:
  redis_session(context_ptr ctx, std::string describe, std::string prefix, std::string script,
                std::shared_ptr<refused_items> refused)
      : ctx_(std::move(ctx)), describe_(std::move(describe)), prefix_(std::move(prefix)),
        script_(std::move(script)), refused_(std::move(refused)) {
    load_script();
  }

  void begin() override {
    batch_.clear();
    returned_.clear();
    in_batch_ = true;
  }

  std::optional<std::string> find(const std::string& key) override {
    if (in_batch_) // read your own writes within the batch
      for (auto it = batch_.rbegin(); it != batch_.rend(); ++it)
        if (it->key == key)
          return it->value;
    std::string hash = prefix_ + key;
    const char* argv[] = {"HGET", hash.data(), "value"};
    const size_t lens[] = {4, hash.size(), 5};
    auto r = command(3, argv, lens, "find", key);
    if (r->type == REDIS_REPLY_NIL)
      return std::nullopt;
    if (r->type == REDIS_REPLY_ERROR)
      fail_reply(r.get(), "find", key);
    return std::string(r->str, r->len);
  }

  void save(const store_record& record) override {
    check_refused(record);
    if (in_batch_) {
      batch_.push_back(record);
      return;
    }
    for (int attempt = 0;; ++attempt) {
      append_save(record);
      reply_ptr r = read_reply("save", record.key);
      if (is_noscript(r.get()) && attempt == 0) {
        load_script(); // the server restarted or SCRIPT FLUSH ran: load it again, once
        continue;
      }
      if (r->type == REDIS_REPLY_ERROR)
        fail_reply(r.get(), "save", record.key);
      hand_back(record.key, r.get(), returned_);
      return;
    }
  }

  void commit() override {
    std::vector<store_record> batch;
    batch.swap(batch_);
    in_batch_ = false;
    if (batch.empty())
      return;
    for (int attempt = 0;; ++attempt) {
      const char* multi[] = {"MULTI"};
      const size_t multi_len[] = {5};
      redisAppendCommandArgv(ctx_.get(), 1, multi, multi_len);
      for (const auto& record : batch)
        append_save(record);
      const char* exec[] = {"EXEC"};
      const size_t exec_len[] = {4};
      redisAppendCommandArgv(ctx_.get(), 1, exec, exec_len);
      // Every reply is read, whatever happens, so that the connection stays in step.
      reply_ptr queued_error;
      for (std::size_t i = 0; i < batch.size() + 1; ++i) {
        reply_ptr r = read_reply("commit", "");
        if (r->type == REDIS_REPLY_ERROR && !queued_error)
          queued_error = std::move(r);
      }
      reply_ptr exec_reply = read_reply("commit", "");
      if (queued_error) // EXECABORT: nothing was applied
        fail_reply(queued_error.get(), "commit", "", store_fault::recoverable);
      if (exec_reply->type != REDIS_REPLY_ARRAY || exec_reply->elements != batch.size())
        fail_reply(exec_reply.get(), "commit", "", store_fault::recoverable);
      if (attempt == 0 && exec_reply->elements > 0 && is_noscript(exec_reply->element[0])) {
        // Nothing was written (every EVALSHA failed alike): load the script and resend. Items
        // written anyway would be harmless: the version guard makes a save idempotent.
        load_script();
        continue;
      }
      std::vector<std::pair<std::string, std::string>> rejected;
      std::string first_recoverable;
      std::vector<stored_row> returned;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const redisReply* r = exec_reply->element[i];
        if (r->type != REDIS_REPLY_ERROR) {
          hand_back(batch[i].key, r, returned);
          continue;
        }
        std::string error(r->str, r->len);
        if (classify(error) == store_fault::fatal)
          rejected.emplace_back(batch[i].key, error);
        else if (first_recoverable.empty())
          first_recoverable = "key \"" + batch[i].key + "\": " + error;
      }
      if (!first_recoverable.empty()) // retry everything; saved items are idempotent
        throw_store_failure(describe_, "commit", "", store_fault::recoverable, first_recoverable);
      if (!rejected.empty()) {
        remember_refused(batch, rejected);
        std::string message =
            store_message(describe_, "commit", "", store_fault::fatal,
                          std::to_string(rejected.size()) +
                              " item(s) refused, the rest committed; first: "
                              "key \"" +
                              rejected.front().first + "\": " + rejected.front().second);
        throw store_items_rejected(message, std::move(rejected));
      }
      returned_ = std::move(returned);
      return;
    }
  }

  void rollback() override {
    batch_.clear(); // nothing reached the server before commit()
    returned_.clear();
    in_batch_ = false;
  }

  std::vector<stored_row> take_stored() override { return std::exchange(returned_, {}); }

  bool usable() const override { return usable_ && ctx_->err == 0; }

private:
  // An item refused at an earlier commit, saved again at the same (or a lower) version: it
  // would be refused again, so it fails here, where the writer can dead-letter it alone.
  void check_refused(const store_record& record) {
    if (auto reason = refused_->take(record.key, record.version))
      throw_store_failure(describe_, "save", record.key, store_fault::fatal,
                          "refused at an earlier commit: " + *reason);
  }

  void remember_refused(const std::vector<store_record>& batch,
                        const std::vector<std::pair<std::string, std::string>>& rejected) {
    for (const auto& [key, reason] : rejected)
      for (const auto& record : batch)
        if (record.key == key)
          refused_->remember(key, record.version, reason);
  }

  // A save script's bulk-string reply is the value as stored; the built-in script answers
  // with an integer, which hands back nothing.
  static void hand_back(const std::string& key, const redisReply* r, std::vector<stored_row>& out) {
    if (r->type == REDIS_REPLY_STRING)
      out.push_back({key, std::string(r->str, r->len)});
  }

  void load_script() {
    const char* argv[] = {"SCRIPT", "LOAD", script_.c_str()};
    const size_t lens[] = {6, 4, script_.size()};
    auto r = command(3, argv, lens, "open (script load)", "");
    if (r->type != REDIS_REPLY_STRING)
      fail_reply(r.get(), "open (script load)", "", store_fault::recoverable);
    sha_.assign(r->str, r->len);
  }

  void append_save(const store_record& record) {
    std::string hash = prefix_ + record.key;
    std::string version = std::to_string(record.version);
    const char* argv[] = {"EVALSHA",   sha_.data(),    "1",
                          hash.data(), version.data(), record.value.data()};
    const size_t lens[] = {7, sha_.size(), 1, hash.size(), version.size(), record.value.size()};
    redisAppendCommandArgv(ctx_.get(), 6, argv, lens);
  }

  reply_ptr command(int argc, const char** argv, const size_t* lens, const std::string& operation,
                    const std::string& key) {
    redisAppendCommandArgv(ctx_.get(), argc, argv, lens);
    return read_reply(operation, key);
  }

  // The next reply; a null one means the connection failed (refused, reset, timed out), after
  // which hiredis cannot use this context again.
  reply_ptr read_reply(const std::string& operation, const std::string& key) {
    void* raw = nullptr;
    if (ctx_->err == 0)
      redisGetReply(ctx_.get(), &raw);
    if (!raw) {
      usable_ = false;
      throw_store_failure(describe_, operation, key, store_fault::recoverable,
                          ctx_->err ? ctx_->errstr : "no reply");
    }
    return reply_ptr(static_cast<redisReply*>(raw));
  }

  [[noreturn]] void fail_reply(const redisReply* r, const std::string& operation,
                               const std::string& key) {
    std::string error = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "";
    fail_reply(r, operation, key, classify(error));
  }

  [[noreturn]] void fail_reply(const redisReply* r, const std::string& operation,
                               const std::string& key, store_fault fault) {
    std::string detail = r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS
                             ? std::string(r->str, r->len)
                             : "unexpected reply of type " + std::to_string(r->type);
    throw_store_failure(describe_, operation, key, fault, detail);
  }

  context_ptr ctx_;
  std::string describe_;
  std::string prefix_;
  std::string script_; // the save script's source
  std::string sha_;
  std::shared_ptr<refused_items> refused_;
  std::vector<store_record> batch_;
  std::vector<stored_row> returned_; // the script's replies of the last commit (or lone saves)
  bool in_batch_{false};
  bool usable_{true};
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

} // namespace

redis_store::redis_store(redis_store_options options) : options_(std::move(options)) {
  if (options_.host.empty())
    throw std::invalid_argument("redis store: the host is empty");
  if (options_.port < 1 || options_.port > 65535)
    throw std::invalid_argument("redis store: port " + std::to_string(options_.port) +
                                " is outside 1..65535");
  if (options_.timeout.count() <= 0)
    throw std::invalid_argument("redis store: the timeout must be positive");
}

std::unique_ptr<store_session> redis_store::open() {
  std::string describe =
      "redis store \"" + options_.host + ":" + std::to_string(options_.port) + "\"";
  timeval tv = to_timeval(options_.timeout);
  context_ptr ctx(redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
  if (!ctx)
    throw_store_failure(describe, "open", "", store_fault::recoverable, "out of memory");
  if (ctx->err)
    throw_store_failure(describe, "open", "", store_fault::recoverable, ctx->errstr);
  if (redisSetTimeout(ctx.get(), tv) != REDIS_OK)
    throw_store_failure(describe, "open", "", store_fault::recoverable, "cannot set the timeout");
  redisEnableKeepAlive(ctx.get());
  auto simple = [&](std::vector<std::string> args, const char* what) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    reply_ptr r(static_cast<redisReply*>(
        redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r)
      throw_store_failure(describe, what, "", store_fault::recoverable, ctx->errstr);
    if (r->type == REDIS_REPLY_ERROR)
      throw_store_failure(describe, what, "", store_fault::recoverable,
                          std::string(r->str, r->len));
  };
  if (!options_.password.empty())
    simple({"AUTH", options_.password}, "open (auth)");
  if (options_.database != 0)
    simple({"SELECT", std::to_string(options_.database)}, "open (select)");
  return std::make_unique<redis_session>(
      std::move(ctx), describe, options_.prefix,
      options_.save_script.empty() ? std::string(save_script) : options_.save_script, refused_);
}

} // namespace corral
