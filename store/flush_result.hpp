// flush_result: what flushing a write-behind cache achieved (cache::flush, shutdown).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <corral/store/write_batch.hpp> // dead_record

namespace corral {

/// What flush() reports: every entry dirty when it was called is in `written` or `failed`,
/// unless `complete` is false (the deadline passed or the runtime stopped first).
struct flush_result {
  bool complete = false;
  std::size_t written = 0;
  std::vector<dead_record> failed; // dead-lettered, with the store's error
  std::size_t unwritten = 0;       // still dirty when the flush gave up
  std::string error;               // why it gave up, or the store's last error
};

} // namespace corral
