// store_spec: a cache's write-behind store as configured, the JSON object chosen by "type"
// (store/store_config.hpp). It holds the object behind a pointer so that config.hpp, which
// every consumer includes, does not pull in Boost.JSON; code that reads or builds one includes
// <boost/json/value.hpp> itself.
#pragma once

#include <memory>

namespace boost {
namespace json {
class value;
} // namespace json
} // namespace boost

namespace corral {

class store_spec {
public:
  /// No store.
  store_spec() = default;
  /// The store described by `json` (a null value is no store). Checked by validate() and when
  /// the config is parsed.
  store_spec(const boost::json::value& json); // NOLINT: implicit, as assigning JSON reads well

  /// Whether no store is configured.
  bool empty() const noexcept { return json_ == nullptr; }
  /// The store's JSON; a null value when empty().
  const boost::json::value& json() const;

  friend bool operator==(const store_spec& a, const store_spec& b);
  friend bool operator!=(const store_spec& a, const store_spec& b) { return !(a == b); }

private:
  std::shared_ptr<const boost::json::value> json_; // immutable, so copies share it
};

} // namespace corral
