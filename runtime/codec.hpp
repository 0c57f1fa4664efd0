// codec<V>: turns a value into bytes and back, for when it crosses a process boundary (the
// message interface, remote nodes, Redis). Specialize corral::codec for your own types:
//
//   template <> struct corral::codec<price> {
//     static void encode(const price& p, std::string& out);
//     static price decode(std::string_view bytes); // throws on malformed input
//   };
//
// Provided: std::string and arithmetic types. A cache whose V has no codec works in-process;
// only its message interface answers errc::no_codec.
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace corral {

template <class V, class = void> struct codec; // no codec unless specialized

template <> struct codec<std::string> {
  static void encode(const std::string& v, std::string& out) { out = v; }
  static std::string decode(std::string_view bytes) { return std::string{bytes}; }
};

/// Arithmetic values travel as their bytes in little-endian machine order (the only order
/// corral runs on); the size is checked on decode.
template <class V> struct codec<V, std::enable_if_t<std::is_arithmetic_v<V>>> {
  static void encode(V v, std::string& out) {
    out.assign(reinterpret_cast<const char*>(&v), sizeof(V));
  }
  static V decode(std::string_view bytes) {
    if (bytes.size() != sizeof(V))
      throw std::invalid_argument("expected " + std::to_string(sizeof(V)) + " bytes, got " +
                                  std::to_string(bytes.size()));
    V v;
    std::memcpy(&v, bytes.data(), sizeof(V));
    return v;
  }
};

template <class V, class = void> struct has_codec : std::false_type {};

template <class V>
struct has_codec<V, std::void_t<decltype(codec<V>::encode(std::declval<const V&>(),
                                                          std::declval<std::string&>()))>>
    : std::true_type {};

} // namespace corral
