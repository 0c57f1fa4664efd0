// Adapts a user's loader to the core's type-erased form. A loader takes the key (and, if it
// wants it, `const V* previous`: the key's current value, nullptr when there is none, for
// conditional fetches such as HTTP If-None-Match during a refresh) and returns
//   V                   the value (throw to report an error),
//   std::optional<V>    the value, or std::nullopt for "not found",
//   corral::result<V>   the value, or an error (errc::not_found means "not found").
// Exceptions never escape: they become load errors that every waiter receives.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <corral/runtime/engine/erased_loader.hpp>
#include <corral/runtime/result.hpp>

namespace corral {

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

template <class T> struct is_result : std::false_type {};
template <class T> struct is_result<result<T>> : std::true_type {};

template <class V, class F> erased_loader wrap_loader(F fn) {
  constexpr bool wants_previous = std::is_invocable_v<F&, const std::string&, const V*>;
  auto call = [](F& f, const std::string& key, const entry* previous) {
    if constexpr (wants_previous)
      return f(key, previous ? &static_cast<const value_entry<V>*>(previous)->value : nullptr);
    else
      return f(key);
  };
  using R = std::decay_t<decltype(call(fn, std::string{}, nullptr))>;
  static_assert(std::is_convertible_v<R, V> || is_optional<R>::value || is_result<R>::value,
                "a loader must return V, std::optional<V> or corral::result<V>");
  auto erased = [fn = std::move(fn), call](const std::string& key, const entry* previous) mutable {
    auto out = std::make_shared<load_outcome>();
    auto start = clock_type::now();
    auto store = [&](auto&& v) {
      out->result = load_outcome::kind::value;
      out->value = std::make_unique<value_entry<V>>(std::forward<decltype(v)>(v));
    };
    try {
      if constexpr (is_optional<R>::value) {
        auto r = call(fn, key, previous);
        if (r)
          store(std::move(*r));
        else
          out->result = load_outcome::kind::not_found;
      } else if constexpr (is_result<R>::value) {
        auto r = call(fn, key, previous);
        if (r.ok())
          store(std::move(r).value());
        else if (r.code() == errc::not_found)
          out->result = load_outcome::kind::not_found;
        else
          out->error_message = r.err().message;
      } else {
        store(V(call(fn, key, previous)));
      }
    } catch (const std::exception& ex) {
      out->result = load_outcome::kind::error;
      out->error_message = ex.what();
    } catch (...) {
      out->result = load_outcome::kind::error;
      out->error_message = "loader threw a non-standard exception";
    }
    out->took = clock_type::now() - start;
    return out;
  };
  return erased_loader{std::move(erased), wants_previous};
}

} // namespace corral
