#include "bench/memory_probe.hpp"

#include <cstdio>

#include <malloc.h>
#include <unistd.h>

namespace bench {

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2)
    return 0;
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t heap_in_use_bytes() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void trim_heap() {
  malloc_trim(0);
}

} // namespace bench
