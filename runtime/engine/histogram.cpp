#include <corral/runtime/engine/histogram.hpp>

#include <algorithm>
#include <cmath>

namespace corral {

histogram_counts& histogram_counts::operator+=(const histogram_counts& o) noexcept {
  for (std::size_t i = 0; i < buckets.size(); ++i)
    buckets[i] += o.buckets[i];
  count += o.count;
  sum_ns += o.sum_ns;
  max_ns = std::max(max_ns, o.max_ns);
  return *this;
}

histogram_counts histogram_counts::minus(const histogram_counts& older) const noexcept {
  histogram_counts out;
  for (std::size_t i = 0; i < buckets.size(); ++i)
    out.buckets[i] = buckets[i] - older.buckets[i];
  out.count = count - older.count;
  out.sum_ns = sum_ns - older.sum_ns;
  return out;
}

std::uint64_t histogram_counts::quantile(double q) const noexcept {
  if (count == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) {
      // The bucket's upper bound: a latency quantile should not understate (as Prometheus'
      // `le` buckets); clamped to the true maximum, so p99 <= max always holds.
      auto hi = i + 1 < buckets.size() ? latency_buckets::lower(i + 1) - 1 : UINT64_MAX;
      return max_ns != 0 ? std::min(hi, max_ns) : hi;
    }
  }
  return max_ns;
}

histogram_counts atomic_histogram::snapshot() const noexcept {
  histogram_counts out;
  // The count is the buckets' sum, not a separate counter read at another instant: a scrape
  // that races with record() still sees count == the sum of its buckets.
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    out.count += out.buckets[i];
  }
  out.sum_ns = sum_.load(std::memory_order_relaxed);
  out.max_ns = window_max_.load(std::memory_order_relaxed);
  return out;
}

} // namespace corral
