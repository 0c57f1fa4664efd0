#include <corral/actors/batcher.hpp>

#include <algorithm>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace corral {

namespace {

struct batcher_state {
  static inline const char* name = "corral.batcher";
  cache_core_ptr core;
  std::vector<batch_item_msg> pending;
  /// Identifies the window the pending items belong to: a flush timer of an earlier window
  /// (already flushed because it filled up) must not cut the current one short.
  std::uint64_t window = 0;
};

using self_ptr = batcher_actor::stateful_pointer<batcher_state>;

std::size_t batch_limit(const cache_config& cfg) {
  return std::max<std::size_t>(cfg.batch_size, 1);
}

/// Runs one batch on the loader pool and reports every key's outcome to its key actor.
void flush(self_ptr self) {
  auto& st = self->state;
  ++st.window;
  if (st.pending.empty())
    return;
  auto items = std::make_shared<std::vector<batch_item_msg>>(std::move(st.pending));
  st.pending.clear();
  auto core = st.core;
  auto admitted = core->submit([core, items] {
    // Keys whose load was abandoned (load_timeout) before the call started are left out.
    std::vector<std::string> keys;
    std::vector<std::size_t> called;
    for (std::size_t i = 0; i < items->size(); ++i) {
      if ((*items)[i].flags->begin()) {
        keys.push_back((*items)[i].key);
        called.push_back(i);
      }
    }
    std::vector<std::shared_ptr<load_outcome>> outs(items->size());
    auto loaded = keys.empty() ? decltype(outs){} : core->run_batch_load(keys);
    for (std::size_t j = 0; j < called.size(); ++j)
      outs[called[j]] = std::move(loaded[j]);
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto& item = (*items)[i];
      if (item.flags->finish())
        --core->metrics.abandoned_running;
      if (!outs[i]) {
        outs[i] = std::make_shared<load_outcome>();
        outs[i]->skipped = true;
      }
      core->post_to(item.requester, load_done_msg{item.load_id, item.version, std::move(outs[i])});
    }
  });
  if (admitted == bulkhead::admission::accepted)
    return;
  // The bulkhead is full, or the pool has stopped (shutdown): every key actor still hears about
  // its load.
  for (auto& item : *items) {
    auto out = std::make_shared<load_outcome>();
    out->overloaded = admitted == bulkhead::admission::overloaded;
    out->error_message = out->overloaded ? core->overloaded_error(item.key).message
                                         : std::string{"loader pool stopped"};
    self->send(caf::actor_cast<key_actor>(item.requester),
               load_done_msg{item.load_id, item.version, std::move(out)});
  }
}

batcher_actor::behavior_type batcher_impl(self_ptr self, cache_core_ptr core) {
  self->state.core = std::move(core);
  return {
      [self](batch_item_msg& item) {
        auto& st = self->state;
        const auto& cfg = st.core->cfg;
        st.pending.push_back(std::move(item));
        if (st.pending.size() >= batch_limit(cfg) || cfg.batch_window.count() <= 0)
          flush(self);
        else if (st.pending.size() == 1)
          self->delayed_send(self, cfg.batch_window, batch_flush_atom::value, st.window);
      },
      [self](batch_flush_atom, std::uint64_t window) {
        if (window == self->state.window)
          flush(self);
      },
      [self](shutdown_atom) {
        // The key actors are shutting down too and answer their own waiters.
        self->state.pending.clear();
        self->quit();
      },
  };
}

} // namespace

batcher_actor spawn_batcher(caf::actor_system& sys, const cache_core_ptr& core) {
  auto handle = sys.spawn(batcher_impl, core);
  core->batcher = handle;
  return handle;
}

} // namespace corral
