// resource_set: the resources of one runtime (resources-go's model, with its bugs fixed).
//
// Resources are declared in code (add) or in the runtime config ("resources", with loaders
// registered by name). Nothing loads before the first sync(): it loads every resource in
// parallel on the loader pool and, with wait, returns once each has a value or has failed,
// with one error naming every failure (a load past its load_timeout counts as failed, so a
// hung loader never hangs sync). From then on each resource is refreshed at its own
// fixed rate (with jitter) by the resource actor; a failed refresh keeps the last good value,
// is reported to the error handler and retried with a capped exponential backoff. Resources
// added after the first sync() load at once. runtime owns one; tests build their own on the
// test scheduler.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>

#include <corral/runtime/config/config.hpp>
#include <corral/runtime/resources/resource.hpp>
#include <corral/runtime/resources/resource_actor.hpp>
#include <corral/runtime/resources/resource_config.hpp>
#include <corral/runtime/resources/resource_loader.hpp>
#include <corral/runtime/resources/sync_round.hpp>

namespace corral {

class resource_set {
public:
  /// Spawns the resource actor. `declared` are the config's resources (validated already);
  /// `random` (uniform in [0, 1)) drives the jitter, a random engine when empty.
  resource_set(caf::actor_system& sys, executor& loaders, std::vector<resource_config> declared,
               std::function<double()> random = {});
  resource_set(const resource_set&) = delete;
  resource_set& operator=(const resource_set&) = delete;

  /// Registers a loader under `name` for resources whose config names it. Resources sharing a
  /// loader may call it concurrently (each resource runs one load at a time).
  template <class V, class F> void register_loader(const std::string& name, F loader) {
    add_loader(name, typeid(V), wrap_resource_loader<V>(std::move(loader)));
  }

  /// Declares a resource in code. Its config's `loader` is ignored. Throws config_error for a
  /// bad config or a name already in use.
  template <class V, class F> resource<V> add(resource_config cfg, F loader) {
    return resource<V>{
        add_erased(std::move(cfg), typeid(V), wrap_resource_loader<V>(std::move(loader)))};
  }

  /// The handle of a resource declared in code or in the config. Throws config_error when a
  /// config resource's loader is not registered, failure (no_such_resource, type_mismatch)
  /// otherwise.
  template <class V> resource<V> get(const std::string& name) {
    return resource<V>{slot_for(name, typeid(V))};
  }

  /// The config's resources whose loader is not registered (yet), each at resources[i].loader.
  std::vector<config_problem> problems() const;

  /// Starts a round: every resource loads now (a load in flight is joined, not doubled), and
  /// the refresh schedule starts. The round reports when each has a value or has failed.
  /// Throws one config_error naming every unregistered loader (problems()) before anything
  /// starts.
  std::shared_ptr<sync_round> start_sync();

  /// sync(true) waits for the round; sync(false) returns nullopt at once.
  std::optional<error> sync(bool wait);

  /// Waits up to `timeout`; resources still loading then are named in the error.
  std::optional<error> sync_for(duration timeout);

  /// Removes a resource: readers get no_such_resource at once, its refresh stops and a load in
  /// flight is dropped. Returns false when there was no such resource.
  bool remove(const std::string& name);

  /// Called for every failed load (first loads and refreshes), on the resource actor's thread:
  /// keep it quick; sync() with wait from there throws std::logic_error. Replaces the previous
  /// handler; an empty function removes it.
  void on_error(resource_error_handler handler);
  /// Every failed load is also reported to `sink` (the runtime's log), whatever on_error has.
  void log_to(std::shared_ptr<log_sink> sink) { hook_->log_to(std::move(sink)); }

  resource_actor actor() const { return actor_; }

  /// Refuses add() and sync() from now on; the owner then sends shutdown_atom to actor().
  void close();

  /// Called by the owner once the actor has stopped and before the actor system is destroyed:
  /// loads still running past shutdown then post nothing.
  void close_sends() { gate_->close(); }

  // The type-erased forms of register_loader, add and get (the runtime's templates use them).
  void add_loader(const std::string& name, const std::type_info& type,
                  erased_resource_loader loader);
  resource_slot_ptr add_erased(resource_config cfg, const std::type_info& type,
                               erased_resource_loader loader);
  resource_slot_ptr slot_for(const std::string& name, const std::type_info& type);

private:
  struct registered_loader {
    const std::type_info* type;
    erased_resource_loader fn;
  };
  struct declared_resource {
    resource_config cfg;
    std::size_t index; // position in the config, for error paths
  };

  const registered_loader& loader_for_locked(const declared_resource& d) const;
  std::vector<config_problem> problems_locked() const;
  resource_slot_ptr start_locked(resource_config cfg, const std::type_info& type,
                                 erased_resource_loader loader);
  void start_declared_locked(std::size_t pos);
  void refuse_if_closed_locked(const std::string& what) const;

  std::shared_ptr<resource_error_hook> hook_ = std::make_shared<resource_error_hook>();
  std::shared_ptr<resource_send_gate> gate_ = std::make_shared<resource_send_gate>();
  resource_actor actor_;
  mutable std::mutex mtx_; // held while sending, so that the actor sees calls in their order
  std::unordered_map<std::string, registered_loader> loaders_;
  std::unordered_map<std::string, resource_slot_ptr> slots_;
  std::vector<declared_resource> declared_; // config resources not started yet
  bool closed_ = false;
};

} // namespace corral
