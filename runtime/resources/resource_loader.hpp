// Adapts a user's resource loader to the type-erased form the resource actor runs on the loader
// pool. A resource loader is called as
//   loader()                     or
//   loader(const V* previous)    previous value, nullptr before the first (conditional fetches)
// and returns
//   V                   the new value (throw to report an error),
//   std::optional<V>    the new value, or std::nullopt for "unchanged, keep the previous value"
//                       (an error when there is no previous value yet),
//   corral::result<V>   the new value, or an error.
// Exceptions never escape: they become failed loads.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <corral/runtime/result.hpp>

namespace corral {

/// What one resource load produced. `ok` with a null `value` means "unchanged".
struct resource_outcome {
  bool ok = false;
  std::shared_ptr<const void> value;
  std::string error_message; // set when !ok
};

/// Called for every failed resource load, on the resource actor's thread (keep it quick).
using resource_error_handler = std::function<void(const std::string& resource, const error& err)>;

using erased_resource_loader =
    std::function<resource_outcome(const std::shared_ptr<const void>& previous)>;

namespace detail {
template <class T> struct is_std_optional : std::false_type {};
template <class T> struct is_std_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_corral_result : std::false_type {};
template <class T> struct is_corral_result<result<T>> : std::true_type {};
} // namespace detail

template <class V, class F> erased_resource_loader wrap_resource_loader(F fn) {
  constexpr bool takes_previous = std::is_invocable_v<F&, const V*>;
  static_assert(takes_previous || std::is_invocable_v<F&>,
                "a resource loader is called as loader() or loader(const V* previous)");
  // Shared so that a move-only callable still fits in std::function.
  auto shared = std::make_shared<F>(std::move(fn));
  return [shared](const std::shared_ptr<const void>& previous) -> resource_outcome {
    resource_outcome out;
    auto call = [&]() -> decltype(auto) {
      if constexpr (takes_previous)
        return (*shared)(static_cast<const V*>(previous.get()));
      else
        return (*shared)();
    };
    using R = std::decay_t<decltype(call())>;
    static_assert(std::is_convertible_v<R, V> || detail::is_std_optional<R>::value ||
                      detail::is_corral_result<R>::value,
                  "a resource loader must return V, std::optional<V> or corral::result<V>");
    auto store = [&](auto&& v) {
      out.ok = true;
      out.value = std::make_shared<const V>(std::forward<decltype(v)>(v));
    };
    try {
      if constexpr (detail::is_std_optional<R>::value) {
        auto r = call();
        if (r)
          store(std::move(*r));
        else if (previous)
          out.ok = true; // unchanged: the previous value stays
        else
          out.error_message = "the loader returned no value (std::nullopt) and there is no "
                              "previous value to keep";
      } else if constexpr (detail::is_corral_result<R>::value) {
        auto r = call();
        if (r.ok())
          store(std::move(r).value());
        else
          out.error_message = r.err().message;
      } else {
        store(V(call()));
      }
    } catch (const std::exception& ex) {
      out = resource_outcome{};
      out.error_message = ex.what();
    } catch (...) {
      out = resource_outcome{};
      out.error_message = "loader threw a non-standard exception";
    }
    return out;
  };
}

} // namespace corral
