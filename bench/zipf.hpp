// Zipf(s) over ranks 0..n-1 (rank 0 the most popular): P(rank k) = (k+1)^-s / H(n, s).
// Exact sampling by inversion of a precomputed CDF with binary search: O(n) memory, O(log n)
// per sample. The benchmarks draw their whole key sequence before timing, so the sampling cost
// never enters a measurement.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace bench {

class zipf_distribution {
public:
  zipf_distribution(std::size_t n, double s) : cdf_(n) {
    if (n == 0)
      throw std::invalid_argument("zipf_distribution needs n > 0");
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) {
      sum += std::pow(static_cast<double>(k + 1), -s);
      cdf_[k] = sum;
    }
    for (auto& c : cdf_)
      c /= sum;
    cdf_.back() = 1.0; // no rounding gap at the top
  }

  std::size_t size() const noexcept { return cdf_.size(); }

  /// P(rank k).
  double probability(std::size_t k) const { return k == 0 ? cdf_[0] : cdf_[k] - cdf_[k - 1]; }

  /// A rank in [0, n).
  std::size_t operator()(std::mt19937_64& rng) const {
    // 53 random bits -> uniform double in [0, 1).
    double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    auto pos = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return std::min(static_cast<std::size_t>(pos - cdf_.begin()), cdf_.size() - 1);
  }

private:
  std::vector<double> cdf_;
};

} // namespace bench
