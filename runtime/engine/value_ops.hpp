// value_ops, the type-erasure table the core uses for a cache's values, and value_ops_for<V>(),
// the table for values of type V.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>

#include <corral/runtime/codec.hpp>
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/weigher.hpp>

namespace corral {

/// How the type-erased core handles values of the cache's type V.
struct value_ops {
  const std::type_info* type;
  /// Encodes the entry's value; returns false when V has no codec.
  bool (*encode)(const entry& e, std::string& out);
  /// Decodes bytes into a new entry; returns nullptr and sets `err` on failure or no codec.
  std::unique_ptr<entry> (*decode)(std::string_view bytes, std::string& err);
  /// A new, unpublished entry holding a copy of a value entry's value.
  std::unique_ptr<entry> (*clone)(const entry& e);
  /// What a value entry's value counts toward max_weight (runtime/weigher.hpp).
  std::size_t (*weigh)(const entry& e);
};

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
