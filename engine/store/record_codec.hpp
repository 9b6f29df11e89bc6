// How both store back ends write record fields that SQL has no type for: seeds and objectives.
#pragma once

#include "store/store.hpp"

#include <cstdint>
#include <vector>

namespace lepton::engine {

/// A 64-bit seed in a signed BIGINT/INTEGER column, bit for bit (seeds use all 64 bits).
std::int64_t seed_to_db(std::uint64_t seed);
std::uint64_t seed_from_db(std::int64_t stored);

/// Objectives as a JSON array of {"metric", "direction"} objects.
json objectives_to_json(const std::vector<Objective>& objectives);
std::vector<Objective> objectives_from_json(const json& stored);

}  // namespace lepton::engine
