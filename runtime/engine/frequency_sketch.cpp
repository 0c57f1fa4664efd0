#include <corral/runtime/engine/frequency_sketch.hpp>

#include <algorithm>

namespace corral {

namespace {

std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

/// A fresh 64-bit mix of the key's hash per row, so that two keys colliding in one row rarely
/// collide in another (std::hash of a string is good, but rows need independent positions).
std::uint64_t mix(std::uint64_t x, unsigned row) noexcept {
  static constexpr std::uint64_t seeds[] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full,
                                            0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull};
  x = (x ^ seeds[row]) * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 29);
}

} // namespace

frequency_sketch::frequency_sketch(std::size_t capacity) {
  // 8 bytes per key of capacity, allocated up front: a max_entries meant as "practically
  // unbounded" (hundreds of millions) must not cost gigabytes before the first insert. Beyond
  // 4M keys the counters are shared more, and estimates err upward a little more often.
  constexpr std::size_t max_capacity = std::size_t{1} << 22;
  capacity = std::min(capacity, max_capacity);
  auto words = round_up_pow2(std::max<std::size_t>(capacity, 64));
  table_.assign(words, 0);
  counter_mask_ = words * 16 - 1;
  sample_size_ = 10 * std::max<std::size_t>(capacity, 64);
}

std::size_t frequency_sketch::index_of(std::uint64_t hash, unsigned row) const noexcept {
  return static_cast<std::size_t>(mix(hash, row)) & counter_mask_;
}

unsigned frequency_sketch::count_at(std::size_t index) const noexcept {
  return static_cast<unsigned>((table_[index >> 4] >> ((index & 15) * 4)) & 0xF);
}

bool frequency_sketch::increment_at(std::size_t index) noexcept {
  auto shift = (index & 15) * 4;
  auto& word = table_[index >> 4];
  if (((word >> shift) & 0xF) == 0xF)
    return false;
  word += std::uint64_t{1} << shift;
  return true;
}

void frequency_sketch::increment(std::uint64_t hash) noexcept {
  bool any = false;
  for (unsigned row = 0; row < 4; ++row)
    any |= increment_at(index_of(hash, row));
  // Saturated keys do not advance the aging clock: a few hot keys cannot age everyone else.
  if (any && ++additions_ >= sample_size_)
    halve();
}

void frequency_sketch::add(std::uint64_t hash, unsigned n) noexcept {
  for (n = std::min(n, 15u); n > 0; --n)
    increment(hash);
}

unsigned frequency_sketch::estimate(std::uint64_t hash) const noexcept {
  unsigned best = 15;
  for (unsigned row = 0; row < 4; ++row)
    best = std::min(best, count_at(index_of(hash, row)));
  return best;
}

void frequency_sketch::halve() noexcept {
  // Each nibble shifted right by one: drop the low bit of each nibble, then shift the word.
  for (auto& word : table_)
    word = (word >> 1) & 0x7777777777777777ull;
  additions_ /= 2;
  ++resets_;
}

} // namespace corral
