// Portable random numbers: the same seed gives the same numbers with any compiler or standard
// library (std::*_distribution differ between implementations, which would break reproducibility).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace lepton {

/// The generator every searcher and sampler uses.
using Rng = std::mt19937_64;

/// Mixes a seed with up to two more integers (splitmix64): the seed of trial `n` of a study is
/// `derive_seed(study_seed, n)`, so it does not depend on which worker runs the trial.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ a) ^ (b * 0x2545f4914f6cdd1dULL + 1));
}

/// Uniform in [0, 1) with 53 random bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// Uniform in [low, high).
inline double uniform(Rng& rng, double low, double high) { return low + (high - low) * uniform01(rng); }

/// Uniform integer in [low, high], both included.
inline std::int64_t uniform_int(Rng& rng, std::int64_t low, std::int64_t high) {
  const auto span = static_cast<std::uint64_t>(high - low) + 1;
  if (span == 0) return static_cast<std::int64_t>(rng());  // the whole 64-bit range
  // Lemire's unbiased bounded integers without division in the common case.
  const std::uint64_t threshold = (0 - span) % span;
  for (;;) {
    const std::uint64_t x = rng();
    const unsigned __int128 m = static_cast<unsigned __int128>(x) * span;
    if (static_cast<std::uint64_t>(m) >= threshold) return low + static_cast<std::int64_t>(m >> 64);
  }
}

/// Standard normal (Box-Muller; one value per call keeps the stream position simple to reason about).
inline double normal01(Rng& rng) {
  double u1 = uniform01(rng);
  while (u1 <= 0.0) u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace lepton
