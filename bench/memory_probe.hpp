// Process memory figures for the memory scenario.
#pragma once

#include <cstddef>

namespace bench {

/// Resident set size in bytes (/proc/self/statm), 0 if unavailable.
std::size_t resident_bytes();

/// Bytes of heap handed out by malloc and not yet freed, over all arenas (mallinfo2:
/// uordblks + hblkhd). Unlike RSS it ignores freed memory that malloc keeps.
std::size_t heap_in_use_bytes();

/// Returns free heap pages to the OS (malloc_trim), so that an RSS baseline taken afterwards
/// is not inflated by memory freed by an earlier scenario and reused by the next one.
void trim_heap();

} // namespace bench
