// Routes a write-behind cache's writer events (failed batches, dead letters, commits, the
// shutdown report) to the runtime's log sink, and still to the cache's own write_hooks::log
// when one was given.
#pragma once

#include <memory>
#include <string>

#include <corral/runtime/engine/log_sink.hpp>
#include <corral/store/write_behind.hpp>

namespace corral {

/// Replaces link.hooks.log by one that reports to `sink` as `component` (info stays info, warn
/// becomes warning) and then calls the previous hook, if any. Before the writer starts.
void log_write_behind_to_sink(write_behind_link& link, std::shared_ptr<log_sink> sink,
                              std::string component);

} // namespace corral
