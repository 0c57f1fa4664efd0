#include <corral/runtime/config/store_spec.hpp>

#include <boost/json/value.hpp>

namespace corral {

store_spec::store_spec(const boost::json::value& json) {
  if (!json.is_null())
    json_ = std::make_shared<const boost::json::value>(json);
}

const boost::json::value& store_spec::json() const {
  static const boost::json::value null_value;
  return json_ ? *json_ : null_value;
}

bool operator==(const store_spec& a, const store_spec& b) {
  return a.json() == b.json();
}

} // namespace corral
