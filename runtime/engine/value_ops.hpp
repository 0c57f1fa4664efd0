// value_ops_for<V>(): the type-erasure table the core uses for values of type V.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <corral/runtime/codec.hpp>
#include <corral/runtime/engine/cache_core.hpp>
#include <corral/runtime/weigher.hpp>

namespace corral {

template <class V> const value_ops& value_ops_for() {
  static const value_ops ops{
      &typeid(V),
      [](const entry& e, std::string& out) -> bool {
        if constexpr (has_codec<V>::value) {
          codec<V>::encode(static_cast<const value_entry<V>&>(e).value, out);
          return true;
        } else {
          (void)e;
          (void)out;
          return false;
        }
      },
      [](std::string_view bytes, std::string& err) -> std::unique_ptr<entry> {
        if constexpr (has_codec<V>::value) {
          try {
            return std::make_unique<value_entry<V>>(codec<V>::decode(bytes));
          } catch (const std::exception& ex) {
            err = ex.what();
            return nullptr;
          }
        } else {
          (void)bytes;
          err = "value type has no corral::codec";
          return nullptr;
        }
      },
      [](const entry& e) -> std::unique_ptr<entry> {
        return std::make_unique<value_entry<V>>(static_cast<const value_entry<V>&>(e).value);
      },
      [](const entry& e) -> std::size_t {
        return weigher<V>::weigh(static_cast<const value_entry<V>&>(e).value);
      },
  };
  return ops;
}

} // namespace corral
