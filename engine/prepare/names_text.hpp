// Lists of names in the preparation stage's messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lepton::engine {

/// `names` joined with ", " ("none" when empty); past `limit` names, ", ..." ends the list.
inline std::string names_text(const std::vector<std::string>& names, std::size_t limit = SIZE_MAX) {
  if (names.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  return out + (names.size() > limit ? ", ..." : "");
}

}  // namespace lepton::engine
