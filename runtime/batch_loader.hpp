// Batch loaders (sturdyc's batch fetch): one call loads many keys. A cache with a batch loader
// groups the misses and due refreshes that arrive within `batch_window` into calls of up to
// `batch_size` keys (actors/batcher.hpp); each key keeps its own single-flight, timeout and
// backoff in its key actor. A batch loader takes the keys and returns a map holding
//   V                  the key's value,
//   corral::result<V>  the key's value or error (errc::not_found means "not found"),
// for each key it found; a key missing from the map is "not found". A throw fails every key of
// the call with the exception's message.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <corral/runtime/engine/erased_loader.hpp>
#include <corral/runtime/loader.hpp>

namespace corral {

template <class V, class F> erased_batch_loader wrap_batch_loader(F fn) {
  using M = std::decay_t<std::invoke_result_t<F&, const std::vector<std::string>&>>;
  using R = std::decay_t<typename M::mapped_type>;
  static_assert(std::is_convertible_v<R, V> || is_result<R>::value,
                "a batch loader must return a map from key to V or to corral::result<V>");
  return [fn = std::move(fn)](const std::vector<std::string>& keys) mutable {
    std::vector<std::shared_ptr<load_outcome>> outs;
    outs.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      outs.push_back(std::make_shared<load_outcome>());
    auto fail_all = [&](const std::string& message) {
      for (auto& out : outs) {
        out->result = load_outcome::kind::error;
        out->value.reset();
        out->error_message = message;
      }
    };
    try {
      M found = fn(keys);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        auto& out = *outs[i];
        auto hit = found.find(keys[i]);
        if (hit == found.end()) {
          out.result = load_outcome::kind::not_found;
        } else if constexpr (is_result<R>::value) {
          auto& r = hit->second;
          if (r.ok()) {
            out.result = load_outcome::kind::value;
            out.value = std::make_unique<value_entry<V>>(std::move(r).value());
          } else {
            out.result = r.code() == errc::not_found ? load_outcome::kind::not_found
                                                     : load_outcome::kind::error;
            out.error_message = r.err().message;
          }
        } else {
          out.result = load_outcome::kind::value;
          out.value = std::make_unique<value_entry<V>>(V(std::move(hit->second)));
        }
      }
    } catch (const std::exception& ex) {
      fail_all(ex.what());
    } catch (...) {
      fail_all("batch loader threw a non-standard exception");
    }
    return outs;
  };
}

} // namespace corral
