#include "bench/corral_status.hpp"

#include <caf/scoped_actor.hpp>

#include <corral/messages/cache_messages.hpp>

namespace bench {

std::optional<corral::cache_status> query_status(corral::runtime& rt,
                                                 const corral::cache_actor& cache,
                                                 std::chrono::milliseconds timeout) {
  std::optional<corral::cache_status> out;
  caf::scoped_actor self{rt.system()};
  self->request(cache, timeout, corral::status_atom::value)
      .receive([&](corral::cache_status& s) { out = std::move(s); }, [&](caf::error&) {});
  return out;
}

} // namespace bench
