// The build stamp is plain text inside the library, so a byte search finds it in any file format.
#include "plugins/stamp.hpp"

#include <lepton/plugin.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

namespace lepton::engine {

std::optional<PluginKind> parse_plugin_kind(const std::string& text) {
  for (const PluginKind kind : kPluginKinds)
    if (text == to_string(kind)) return kind;
  return std::nullopt;
}

std::optional<PluginStamp> parse_stamp(const std::string& text) {
  const std::string prefix = LEPTON_STAMP_PREFIX;
  if (text.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::map<std::string, std::string> fields;
  std::size_t at = prefix.size();
  while (at < text.size()) {
    const auto end = text.find('|', at);
    if (end == std::string::npos) break;
    const std::string field = text.substr(at, end - at);
    const auto eq = field.find('=');
    if (eq == std::string::npos) return std::nullopt;
    fields[field.substr(0, eq)] = field.substr(eq + 1);
    at = end + 1;
  }
  for (const char* key : {"abi", "kind", "name", "version", "fingerprint"})
    if (!fields.count(key)) return std::nullopt;
  PluginStamp stamp;
  try {
    stamp.abi = static_cast<std::uint32_t>(std::stoul(fields["abi"]));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  stamp.kind = parse_plugin_kind(fields["kind"]);
  stamp.name = fields["name"];
  stamp.version = fields["version"];
  stamp.fingerprint = fields["fingerprint"];
  return stamp;
}

std::optional<PluginStamp> read_stamp(const std::string& library_file) {
  std::ifstream in(library_file, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string prefix = LEPTON_STAMP_PREFIX;
  constexpr std::size_t kChunk = 1 << 20;
  constexpr std::size_t kMaxStamp = 4096;
  // Chunks overlap by the longest stamp, so one cut in two is still found whole.
  std::string window;
  std::vector<char> buffer(kChunk);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    window.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    std::size_t hit = window.find(prefix);
    while (hit != std::string::npos) {
      const auto end = window.find('\0', hit);
      if (end == std::string::npos && in) break;  // read on: the stamp continues in the next chunk
      const std::string text = window.substr(hit, (end == std::string::npos ? window.size() : end) - hit);
      if (auto stamp = parse_stamp(text)) return stamp;
      hit = window.find(prefix, hit + 1);
    }
    if (window.size() > kMaxStamp) window.erase(0, window.size() - kMaxStamp);
  }
  return std::nullopt;
}

}  // namespace lepton::engine
