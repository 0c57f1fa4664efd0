// resource<V>: the typed handle to one resource, a named value that is loaded by sync() and
// then refreshed in the background (resources-go's model; see runtime/resources/resource_set.hpp).
// Cheap to copy, usable from any thread.
//
//   auto rates = rt.add_resource<rate_table>(corral::resource_config{"rates", "", 30s}, fetch);
//   rt.sync(true);
//   const rate_table& r = *rates.snapshot();   // or rates.get().value() for a copy
#pragma once

#include <memory>
#include <type_traits>

#include <corral/runtime/resources/resource_slot.hpp>
#include <corral/runtime/result.hpp>

namespace corral {

template <class V> class resource {
public:
  resource() = default;
  explicit resource(resource_slot_ptr slot) : slot_(std::move(slot)) {}

  const std::string& name() const { return slot_->name(); }

  /// A copy of the current value. Never waits once a value exists (one atomic pointer load);
  /// before the first value it fails at once with errc::not_loaded naming the resource. After
  /// remove_resource() it fails with errc::no_such_resource, after shutdown with
  /// errc::shutting_down.
  result<V> get() const {
    if (auto closed = slot_->closed_error())
      return *closed;
    if (auto v = snapshot())
      return *v;
    return slot_->not_loaded_error();
  }

  /// As get(), but before the first value waits up to `timeout` for it.
  result<V> get(duration timeout) const {
    if (auto closed = slot_->closed_error())
      return *closed;
    if (auto v = snapshot())
      return *v;
    error err;
    auto v = slot_->wait_for(timeout, err);
    if (!v)
      return err;
    return *std::static_pointer_cast<const V>(v);
  }

  /// The current value without copying it (nullptr before the first value or once closed).
  /// The value it points to never changes: a refresh publishes a new one.
  std::shared_ptr<const V> snapshot() const {
    if (slot_->closed_error())
      return nullptr;
    return std::static_pointer_cast<const V>(slot_->value());
  }

  /// Loads, failures and the last error (see resource_status).
  resource_status status() const { return slot_->status(); }

private:
  resource_slot_ptr slot_;
};

} // namespace corral
