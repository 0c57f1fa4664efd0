// Stores that can refuse an item only at commit (Redis inside EXEC, PostgreSQL with pipelined
// batches) report it as store_items_rejected, and remember the refused (key, version) here: a
// writer that keeps the whole batch dirty after a failed commit then sees the next save() of
// that item fail as fatal at once, dead-letters it alone and commits the rest. A newer version
// of the key is judged afresh by the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace corral {

class refused_items {
public:
  void remember(const std::string& key, std::uint64_t version, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    items_[key] = {version, reason};
    count_.store(items_.size(), std::memory_order_release);
  }

  /// The reason `key` was refused if `version` is not newer than the refused one. Forgets the
  /// key either way: it is reported once.
  std::optional<std::string> take(const std::string& key, std::uint64_t version) {
    if (count_.load(std::memory_order_acquire) == 0) // the usual case: no lock per save
      return std::nullopt;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = items_.find(key);
    if (it == items_.end())
      return std::nullopt;
    std::optional<std::string> out;
    if (version <= it->second.first)
      out = std::move(it->second.second);
    items_.erase(it);
    count_.store(items_.size(), std::memory_order_release);
    return out;
  }

private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::pair<std::uint64_t, std::string>> items_;
  std::atomic<std::size_t> count_{0};
};

} // namespace corral
