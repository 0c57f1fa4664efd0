// A count-min sketch of 4-bit counters: how often each key was seen recently, in about half a
// byte per counter and with no per-key allocation (TinyLFU's frequency estimate).
//
// Four counters per key, one in each of four rows; the estimate is the smallest of them, so it
// can only overcount (by collisions), never undercount. Counters saturate at 15. Every
// `sample_size` increments all counters are halved ("aging"), so that a key popular long ago
// does not keep its rank for ever; `resets()` counts the halvings, which lets a caller age its
// own counters lazily (see eviction_policy). Not thread-safe: its owner serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace corral {

class frequency_sketch {
public:
  /// Sized for about `capacity` distinct keys (at least 64): one 64-bit word (16 counters) per
  /// key rounded up to a power of two, aging every 10 × capacity increments.
  explicit frequency_sketch(std::size_t capacity);

  /// Counts one occurrence of the key with this hash.
  void increment(std::uint64_t hash) noexcept;
  /// Counts `n` occurrences (saturating).
  void add(std::uint64_t hash, unsigned n) noexcept;
  /// The estimated count, 0..15.
  unsigned estimate(std::uint64_t hash) const noexcept;

  /// How many times the counters were halved since construction.
  std::uint64_t resets() const noexcept { return resets_; }
  std::size_t sample_size() const noexcept { return sample_size_; }

private:
  /// The counter index of `hash` in row `row` (a word and a nibble in it).
  std::size_t index_of(std::uint64_t hash, unsigned row) const noexcept;
  bool increment_at(std::size_t index) noexcept;
  unsigned count_at(std::size_t index) const noexcept;
  void halve() noexcept;

  std::vector<std::uint64_t> table_; // 16 counters of 4 bits per word
  std::size_t counter_mask_;         // counters - 1 (a power of two)
  std::size_t sample_size_;
  std::size_t additions_ = 0;
  std::uint64_t resets_ = 0;
};

} // namespace corral
