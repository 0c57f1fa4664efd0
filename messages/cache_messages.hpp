// Every message a cache understands. The public interface (cache_actor) is what CAF actors and
// remote nodes use; its message types are serializable and registered by
// register_message_types(). The internal extensions carry in-process pointers (reply tokens,
// loaded entries) and never leave the process.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <corral/messages/metrics_inspect.hpp>
#include <corral/runtime/engine/entry.hpp>
#include <corral/runtime/engine/load_outcome.hpp>
#include <corral/runtime/engine/load_watch.hpp>
#include <corral/runtime/engine/reply.hpp>

namespace corral {

// -- atoms --------------------------------------------------------------------------------------

using get_atom = caf::get_atom;
using put_atom = caf::put_atom;
using ok_atom = caf::ok_atom;
using invalidate_atom = caf::atom_constant<caf::atom("invalidate")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using load_timeout_atom = caf::atom_constant<caf::atom("load_tmo")>;
using load_check_atom = caf::atom_constant<caf::atom("load_chk")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using housekeep_atom = caf::atom_constant<caf::atom("housekeep")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using fold_atom = caf::atom_constant<caf::atom("fold")>;
using batch_flush_atom = caf::atom_constant<caf::atom("bflush")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;

// -- public, serializable payloads -------------------------------------------------------------

/// A cache's state as its supervisor sees it.
struct cache_status {
  std::string cache;
  std::uint64_t entries = 0;         // keys with an entry in the table
  std::uint64_t resident_actors = 0; // key actors alive now
  std::uint64_t busy_actors = 0;     // key actors loading or holding waiters
  std::uint64_t passivations = 0;    // key actors passivated since start
  std::uint64_t evictions =
      0; // evicted by the housekeeping backstop since start (all evictions: metrics)
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, cache_status& x) {
  return f(caf::meta::type_name("corral::cache_status"), x.cache, x.entries, x.resident_actors,
           x.busy_actors, x.passivations, x.evictions);
}

// -- internal, in-process payloads --------------------------------------------------------------

/// A get from a non-actor requester (thread, future, callback).
struct local_get_msg {
  std::string key;
  reply_token_ptr token;
  time_point deadline = time_point::max(); // the requester's own deadline
};

struct load_done_msg {
  std::uint64_t load_id = 0;
  std::uint64_t version = 0; // table version taken when the load started
  std::shared_ptr<load_outcome> outcome;
};

/// A key actor's load, handed to its cache's batcher instead of the loader pool.
struct batch_item_msg {
  std::string key;
  std::uint64_t load_id = 0;
  std::uint64_t version = 0;
  caf::actor_addr requester; // the key actor: gets a load_done_msg with this load_id
  /// Shared with the key actor: abandoned (load_timeout) before the batch started, the key is
  /// left out of the call; finished once the call returned.
  std::shared_ptr<load_flags> flags;
};

struct batch_report; // store/write_batch.hpp
struct flush_ticket; // store/writer_actor.hpp

/// A write-behind batch came back from the store (writer thread to writer actor).
struct write_done_msg {
  std::shared_ptr<batch_report> report;
};

/// flush(): answered through the ticket once everything dirty now is written or dead.
struct flush_msg {
  std::shared_ptr<flush_ticket> ticket;
};

} // namespace corral

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::write_done_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::flush_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::local_get_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::load_done_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::batch_item_msg)

namespace corral {

// -- actor interfaces ---------------------------------------------------------------------------

/// Groups the loads of a cache with a batch loader into batch calls (actors/batcher.hpp).
using batcher_actor = caf::typed_actor<caf::reacts_to<batch_item_msg>,
                                       caf::reacts_to<batch_flush_atom, std::uint64_t>,
                                       caf::reacts_to<shutdown_atom>>;

/// Drains a write-behind cache's dirty entries to its store (store/writer_actor.hpp).
using writer_actor =
    caf::typed_actor<caf::reacts_to<drain_atom>, caf::reacts_to<housekeep_atom>,
                     caf::reacts_to<write_done_msg>, caf::reacts_to<flush_msg>,
                     caf::reacts_to<deadline_atom, std::uint64_t>, caf::reacts_to<shutdown_atom>>;

/// The public interface of a cache: what a CAF actor (local or remote) sends to the handle
/// returned by runtime::cache_actor(name). Values travel as bytes produced by the cache's
/// codec; failures arrive as caf::error in the "corral" category (see errc).
using cache_actor =
    caf::typed_actor<caf::replies_to<get_atom, std::string>::with<std::string>,
                     caf::replies_to<put_atom, std::string, std::string>::with<ok_atom>,
                     caf::replies_to<invalidate_atom, std::string>::with<ok_atom>,
                     caf::replies_to<status_atom>::with<cache_status>,
                     caf::replies_to<metrics_atom>::with<metrics_snapshot>>;

/// The supervisor implements the public interface plus housekeeping and shutdown.
using supervisor_actor =
    cache_actor::extend<caf::reacts_to<housekeep_atom>, caf::reacts_to<load_check_atom>,
                        caf::reacts_to<invalidate_atom, std::string, std::uint64_t>,
                        caf::reacts_to<shutdown_atom>>;

/// One actor per active key. Requesters reach it through the cache's key registry (gets and
/// refreshes); its loads, timers, the batcher and the supervisor (passivate, shutdown) do too.
using key_actor = caf::typed_actor<
    caf::replies_to<get_atom, std::string>::with<std::string>, caf::reacts_to<local_get_msg>,
    caf::reacts_to<refresh_atom>, caf::reacts_to<load_done_msg>,
    caf::reacts_to<load_timeout_atom, std::uint64_t>, caf::reacts_to<deadline_atom, std::uint64_t>,
    caf::reacts_to<passivate_atom>, caf::reacts_to<shutdown_atom>>;

/// Error category of corral errors carried in caf::error.
inline constexpr caf::atom_value error_category = caf::atom("corral");

/// Registers the public message types and the error category with a CAF config. The runtime
/// calls it; call it yourself for an actor_system_config of your own that talks to corral nodes.
void register_message_types(caf::actor_system_config& cfg);

/// Makes a caf::error of the "corral" category.
caf::error make_caf_error(errc code, std::string message);

/// Reads back a corral error from a caf::error (code load_failed if it is of another category).
error from_caf_error(const caf::error& e);

} // namespace corral
