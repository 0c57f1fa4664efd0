// erased_tier: a tier-1 cache as the core calls it, whatever its value type (cache_tier<V> and
// erase_tier() in runtime/cache_tier.hpp build one).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <corral/runtime/engine/entry.hpp>

namespace corral {

/// The type-erased tier the core uses.
struct erased_tier {
  enum class status { hit, miss, error };
  struct lookup {
    status result = status::miss;
    std::unique_ptr<entry> value;
    std::string error_message;
  };
  std::function<lookup(const std::string&)> get;
  /// Returns a job that writes back a copy of the entry's value (taken now, while it is alive).
  std::function<std::function<void()>(const std::string&, const entry&)> write_back;
  std::function<void(const std::string&)> erase;
};

} // namespace corral
