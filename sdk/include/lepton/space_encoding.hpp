// Points of a search space as numeric vectors in the unit cube, and back: the common ground of
// model-based (TPE, Gaussian process) and evolutionary (CMA-ES, NSGA-II) searchers.
#pragma once

#include <lepton/export.hpp>
#include <lepton/random.hpp>
#include <lepton/search_space.hpp>
#include <lepton/searcher.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace lepton {

/// How categorical parameters become numbers.
enum class CategoricalEncoding {
  kIndex,   ///< one dimension: choice i of C is the cell [i/C, (i+1)/C), encoded at its centre
  kOneHot,  ///< one dimension per choice: 1 for the chosen one, 0 for the others; decoded by argmax
};

/// Maps a numeric parameter's value to [0, 1], linearly on its internal scale (log where `log`).
/// The values of a discrete parameter (int, stepped float) sit at the centres of equal cells (the
/// range is widened by half a step on each side), so a uniform u gives every value the same chance.
LEPTON_API double to_unit(const ParamSpec& spec, double value);

/// The value at `u` (clamped to [0, 1]) of a numeric parameter: undoes to_unit(), then snaps to the
/// step and rounds integers. Always a valid value of the parameter.
LEPTON_API json from_unit(const ParamSpec& spec, double u);

/// Encodes points of one space as vectors of a fixed length, and decodes vectors to valid points.
/// Numeric parameters take one dimension each (to_unit), categoricals one or one per choice,
/// fixed parameters none. A parameter that is inactive in a point encodes as NaN.
class LEPTON_API SpaceEncoder {
 public:
  /// One coordinate of the vector.
  struct Dimension {
    std::size_t param = 0;  ///< index into space().params()
    int choice = -1;        ///< one-hot: the choice this dimension stands for; -1 otherwise
    /// The number of values the dimension's parameter can take (0: continuous). Searchers use it
    /// to keep kernels or mutations at least one value wide.
    std::int64_t cardinality = 0;
  };

  explicit SpaceEncoder(SearchSpace space, CategoricalEncoding categorical = CategoricalEncoding::kIndex);

  const SearchSpace& space() const noexcept { return space_; }
  CategoricalEncoding categorical() const noexcept { return categorical_; }
  /// The length of every vector.
  std::size_t size() const noexcept { return dimensions_.size(); }
  const std::vector<Dimension>& dimensions() const noexcept { return dimensions_; }
  /// The first dimension of parameter `param` (index into space().params()) and how many it has.
  std::pair<std::size_t, std::size_t> span(std::size_t param) const { return spans_.at(param); }

  /// The point as a vector; dimensions of parameters absent from the point are NaN.
  std::vector<double> encode(const Params& point) const;

  /// A valid point from a vector, parents first: active parameters take their dimensions' values
  /// (clamped and snapped), inactive ones are left out. An active parameter whose dimensions are
  /// NaN is drawn from `rng` when one is given, else takes the middle of its range (first choice).
  Params decode(const std::vector<double>& x, Rng* rng = nullptr) const;

  /// The value parameter `param` takes from its dimensions of `x` (NaN-free).
  json decode_param(std::size_t param, const std::vector<double>& x) const;

 private:
  SearchSpace space_;
  CategoricalEncoding categorical_;
  std::vector<Dimension> dimensions_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;
};

/// The encoded parameters of a study's trials, kept between proposals so that each proposal encodes
/// only the trials it has not seen before (a trial's parameters never change once proposed).
class LEPTON_API EncodedTrials {
 public:
  /// Brings the rows up to date with `trials`: afterwards row(i) is the encoding of trials[i].
  void update(const SpaceEncoder& encoder, const std::vector<TrialView>& trials);
  std::size_t size() const noexcept { return numbers_.size(); }
  /// The encoded row of the i-th trial (encoder.size() values; NaN where inactive).
  const double* row(std::size_t i) const { return data_.data() + i * stride_; }

 private:
  std::size_t stride_ = 0;
  std::vector<int> numbers_;
  std::vector<double> data_;
};

}  // namespace lepton
