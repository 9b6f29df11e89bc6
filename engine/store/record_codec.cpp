// Record fields as both store back ends write them.
#include "store/record_codec.hpp"

#include <cstring>

namespace lepton::engine {

std::int64_t seed_to_db(std::uint64_t seed) {
  std::int64_t out;
  std::memcpy(&out, &seed, sizeof out);
  return out;
}

std::uint64_t seed_from_db(std::int64_t stored) {
  std::uint64_t out;
  std::memcpy(&out, &stored, sizeof out);
  return out;
}

json objectives_to_json(const std::vector<Objective>& objectives) {
  json out = json::array();
  for (const auto& o : objectives) out.push_back({{"metric", o.metric}, {"direction", to_string(o.direction)}});
  return out;
}

std::vector<Objective> objectives_from_json(const json& stored) {
  std::vector<Objective> out;
  for (const auto& o : stored)
    out.push_back({o.at("metric").get<std::string>(),
                   o.at("direction").get<std::string>() == "minimize" ? Direction::kMinimize : Direction::kMaximize});
  return out;
}

}  // namespace lepton::engine
