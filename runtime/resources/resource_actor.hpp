// The resource actor: one per runtime. It owns every resource's schedule: the loads started by
// sync(), the fixed-rate refresh timers (with jitter), the backoff after failures, removal and
// shutdown. Loads run on the loader pool and come back as messages; only this actor publishes
// into a resource's slot, so a removed resource's late result is simply dropped.
//
// A load still running after load_timeout is given up: it fails like any load (sync() names it,
// the handler hears errc::timeout, the backoff starts) and the resource no longer counts it as
// in flight, so the next refresh starts on schedule. Its loader thread cannot be stopped; if the
// job had not started yet it never calls the loader. A late success is stored unless a load
// started after it has already succeeded (newest start wins); a late failure is dropped, the
// timeout having been counted already.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <corral/messages/cache_messages.hpp>
#include <corral/runtime/engine/executor.hpp>
#include <corral/runtime/resources/resource_config.hpp>
#include <corral/runtime/resources/resource_loader.hpp>
#include <corral/runtime/resources/resource_slot.hpp>
#include <corral/runtime/resources/sync_round.hpp>

namespace corral {

using remove_resource_atom = caf::atom_constant<caf::atom("res_remove")>;
using resource_tick_atom = caf::atom_constant<caf::atom("res_tick")>;
using resource_load_timeout_atom = caf::atom_constant<caf::atom("res_tmout")>;

/// Called for every failed resource load, with the resource's name and the error.

/// True while this thread runs the resource error handler: waiting there for the resource
/// actor (sync with wait, shutdown) would wait for the very thread that is waiting.
bool inside_resource_error_handler() noexcept;

class log_sink; // runtime/engine/log_sink.hpp

/// The error handler, settable at any time from any thread.
class resource_error_hook {
public:
  void set(resource_error_handler h);
  /// Every failure also goes to `sink` (the runtime's log), whatever the handler.
  void log_to(std::shared_ptr<log_sink> sink);
  /// Calls the handler (if any); a throwing handler is ignored so that refreshes go on.
  void report(const std::string& resource, const error& err) const;

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const resource_error_handler> handler_;
  std::shared_ptr<log_sink> sink_;
};

/// Declares a resource to the actor. It loads at once if a sync() has already happened.
struct add_resource_msg {
  resource_config cfg;
  resource_slot_ptr slot;
  erased_resource_loader loader;
};

/// Loads every resource now (joining loads in flight) and completes the ticket's round.
struct sync_resources_msg {
  std::shared_ptr<sync_ticket> ticket;
};

/// A load's result, sent from the loader pool. Dropped unless `load_id` is the resource's
/// current load or a load of it that timed out (see above).
struct resource_loaded_msg {
  std::string name;
  std::uint64_t load_id = 0;
  std::shared_ptr<resource_outcome> outcome;
};

} // namespace corral

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::add_resource_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::sync_resources_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::resource_loaded_msg)

namespace corral {

using resource_actor =
    caf::typed_actor<caf::reacts_to<add_resource_msg>, caf::reacts_to<sync_resources_msg>,
                     caf::reacts_to<resource_loaded_msg>,
                     caf::reacts_to<remove_resource_atom, std::string>,
                     caf::reacts_to<resource_tick_atom, std::string, std::uint64_t>,
                     caf::reacts_to<resource_load_timeout_atom, std::string, std::uint64_t>,
                     caf::reacts_to<shutdown_atom>>;

/// The way loader threads post results. A load stuck past shutdown holds only the actor's
/// weak address and this gate; once the owner closes it (after the actors stopped, before the
/// actor system is destroyed) nothing touches CAF any more.
class resource_send_gate {
public:
  void post(const caf::actor_addr& dest, resource_loaded_msg msg) const;
  void close();

private:
  mutable std::shared_mutex mtx_;
  bool closed_ = false;
};

struct resource_actor_options {
  executor* loaders = nullptr; // must outlive the actor's loads
  std::shared_ptr<resource_error_hook> on_error = std::make_shared<resource_error_hook>();
  std::shared_ptr<resource_send_gate> gate = std::make_shared<resource_send_gate>();
  /// Uniform in [0, 1), for refresh jitter; empty = a per-actor random engine.
  std::function<double()> random;
};

resource_actor spawn_resource_actor(caf::actor_system& sys, resource_actor_options opts);

} // namespace corral
