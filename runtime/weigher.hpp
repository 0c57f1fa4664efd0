// weigher<V>: what one cached value counts toward a cache's max_weight.
//
// For std::string it is the value's bytes; for any other V it is sizeof(V) unless the program
// specialises corral::weigher<V> (as it specialises corral::codec<V>):
//
//   template <> struct corral::weigher<my_blob> {
//     static std::size_t weigh(const my_blob& b) { return b.bytes.size() + sizeof(my_blob); }
//   };
//
// The key's bytes are added by the cache (cache_core::weigh), so a weigher only counts the
// value. Neither counts the entry's fixed overhead (docs/config.md gives it).
#pragma once

#include <cstddef>
#include <string>

namespace corral {

template <class V> struct weigher {
  static std::size_t weigh(const V&) noexcept { return sizeof(V); }
};

template <> struct weigher<std::string> {
  static std::size_t weigh(const std::string& s) noexcept { return s.size(); }
};

} // namespace corral
