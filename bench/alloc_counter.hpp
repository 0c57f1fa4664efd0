// Counts calls to the global operator new (all forms: plain, array, nothrow, aligned), which
// alloc_counter.cpp replaces for the whole program.
//
// The count is per thread: a measuring thread reads its own count before and after its timed
// loop, so allocations made meanwhile by CAF's scheduler, timers or loader threads are not
// attributed to the operation under test.
#pragma once

#include <cstdint>

namespace bench {

/// operator new calls made by the calling thread since it started.
std::uint64_t thread_allocs() noexcept;

} // namespace bench
