// result<V>: a value or an error, returned by every cache read.
#pragma once

#include <utility>
#include <variant>

#include <corral/runtime/error.hpp>

namespace corral {

template <class V> class result {
public:
  result(V value) : data_(std::in_place_index<0>, std::move(value)) {}
  result(error err) : data_(std::in_place_index<1>, std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws corral::failure when this result holds an error.
  const V& value() const& {
    check();
    return std::get<0>(data_);
  }
  V& value() & {
    check();
    return std::get<0>(data_);
  }
  V&& value() && {
    check();
    return std::get<0>(std::move(data_));
  }
  const V& operator*() const& { return value(); }
  const V* operator->() const { return &value(); }

  /// The error; only meaningful when !ok().
  const error& err() const { return std::get<1>(data_); }
  errc code() const noexcept { return ok() ? errc::none : std::get<1>(data_).code; }

private:
  void check() const {
    if (!ok())
      throw failure(std::get<1>(data_));
  }
  std::variant<V, error> data_;
};

} // namespace corral
