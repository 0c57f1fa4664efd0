// The type-erased forms of a user's loaders, as the core calls them (runtime/loader.hpp and
// runtime/batch_loader.hpp build them from typed callables).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <corral/runtime/engine/load_outcome.hpp>

namespace corral {

/// Calls the user's loader for a key. Never throws: failures are reported in the outcome.
/// `previous` is the key's current value (a copy) when the loader asked for it (conditional
/// fetches, see runtime/loader.hpp), else nullptr.
class erased_loader {
public:
  using function =
      std::function<std::shared_ptr<load_outcome>(const std::string& key, const entry* previous)>;

  erased_loader() = default;
  erased_loader(function fn, bool wants_previous)
      : fn_(std::move(fn)), wants_previous_(wants_previous) {}
  /// Any callable taking only the key.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&, const std::string&>>>
  erased_loader(F fn) // NOLINT: implicit on purpose, like std::function
      : fn_([fn = std::move(fn)](const std::string& key, const entry*) mutable {
          return fn(key);
        }) {}

  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  bool wants_previous() const noexcept { return wants_previous_; }
  std::shared_ptr<load_outcome> operator()(const std::string& key,
                                           const entry* previous = nullptr) const {
    return fn_(key, previous);
  }

private:
  function fn_;
  bool wants_previous_ = false;
};

/// Calls the user's batch loader: one outcome per key, in the keys' order. Never throws.
using erased_batch_loader =
    std::function<std::vector<std::shared_ptr<load_outcome>>(const std::vector<std::string>& keys)>;

} // namespace corral
