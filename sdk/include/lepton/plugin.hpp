// The plugin boundary: one exported entry returning a versioned plain struct, written by LEPTON_PLUGIN.
#pragma once

#include <lepton/dataset.hpp>
#include <lepton/export.hpp>
#include <lepton/metric.hpp>
#include <lepton/searcher.hpp>

#include <boost/dll/alias.hpp>
#include <torch/version.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

/// The SDK's ABI version as a preprocessor number, so that LEPTON_PLUGIN can write it into the
/// plugin's build stamp; the CMake package reads it from here too.
#define LEPTON_ABI_VERSION 5

namespace lepton {

/// Bumped whenever an SDK interface or PluginInfo changes; the engine refuses plugins built for another.
inline constexpr std::uint32_t kAbiVersion = LEPTON_ABI_VERSION;

/// What a plugin provides.
enum class PluginKind : std::uint32_t { kSearcher = 1, kModel = 2, kDataset = 3, kMetric = 4 };

/// "searcher", "model", "dataset" or "metric" ("unknown" for other values).
LEPTON_API const char* to_string(PluginKind kind);

/// The kinds as the lower-case tokens LEPTON_PLUGIN takes.
namespace plugin_kind {
inline constexpr PluginKind searcher = PluginKind::kSearcher;
inline constexpr PluginKind model = PluginKind::kModel;
inline constexpr PluginKind dataset = PluginKind::kDataset;
inline constexpr PluginKind metric = PluginKind::kMetric;
}  // namespace plugin_kind

class Model;  // <lepton/model.hpp>; not included here, so searchers and metrics build without torch::nn

/// Receives what a plugin provides during registration: exactly one object of the plugin's kind.
class LEPTON_API Registrar {
 public:
  virtual void add_searcher(SearcherFactory factory) = 0;
  virtual void add_model(std::unique_ptr<Model> model) = 0;
  virtual void add_dataset(std::unique_ptr<Dataset> dataset) = 0;
  virtual void add_metric(MetricFactory factory) = 0;

 protected:
  ~Registrar() = default;
};

/// The plain struct behind the exported entry `lepton_plugin_info`. The engine checks
/// `abi_version`, `struct_size` and `build_fingerprint` before calling anything else. Grow it only
/// at the end, and bump kAbiVersion when it changes.
struct PluginInfo {
  std::uint32_t abi_version;           ///< kAbiVersion the plugin was built with
  std::uint32_t struct_size;           ///< sizeof(PluginInfo) the plugin was built with
  std::uint32_t kind;                  ///< a PluginKind
  const char* name;                    ///< the name experiments use, e.g. "tpe"
  const char* version;                 ///< the plugin's own version, e.g. "1.2.0"
  const char* build_fingerprint;       ///< LEPTON_BUILD_FINGERPRINT of the plugin's build
  /// Registers the plugin's object; returns null on success, else the error message (valid until
  /// the next call on the same thread). Never throws.
  const char* (*register_plugin)(Registrar* registrar) noexcept;
};

/// The exported entry's type.
using PluginInfoFunction = const PluginInfo*();

/// The build fingerprint the engine was compiled with.
LEPTON_API const char* engine_build_fingerprint();

namespace detail {
/// Runs a registration function, turning any exception into a message.
inline const char* run_registration(Registrar* registrar, void (*register_fn)(Registrar&)) noexcept {
  static thread_local std::string message;
  try {
    register_fn(*registrar);
    return nullptr;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception";
  }
  return message.c_str();
}

/// Whether two C strings are equal, at compile time (LEPTON_PLUGIN's check against the manifest).
constexpr bool same_text(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}
}  // namespace detail
}  // namespace lepton

#define LEPTON_STRINGIFY_(x) #x
#define LEPTON_STRINGIFY(x) LEPTON_STRINGIFY_(x)

#if defined(__clang__)
#define LEPTON_COMPILER_ID "clang " LEPTON_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define LEPTON_COMPILER_ID "gcc " LEPTON_STRINGIFY(__GNUC__)
#else
#define LEPTON_COMPILER_ID "unknown compiler"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define LEPTON_STDLIB_ID "libstdc++ cxx11-abi=" LEPTON_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define LEPTON_STDLIB_ID "libc++"
#else
#define LEPTON_STDLIB_ID "unknown stdlib"
#endif

/// What a plugin and the engine must share to exchange C++ objects: compiler, standard library
/// ABI and LibTorch version.
#define LEPTON_BUILD_FINGERPRINT LEPTON_COMPILER_ID "; " LEPTON_STDLIB_ID "; torch " TORCH_VERSION

/// Opens the build stamp LEPTON_PLUGIN writes into every plugin library: one line of text,
/// `lepton-plugin-stamp/1|abi=<LEPTON_ABI_VERSION>|kind=searcher|name=random|version=1.0.0|fingerprint=...|`,
/// that the engine, `lepton plugins inspect` and lepton_add_plugin() read from the file without
/// running any of the plugin's code (`readelf -p .lepton_plugin random.so` shows it too).
#define LEPTON_STAMP_PREFIX "lepton-plugin-stamp/1|"

/// Declares a plugin, followed by the body of its registration function, which receives
/// `lepton::Registrar& registrar`. Built with lepton_add_plugin(), a plugin takes its kind, name and
/// version from its manifest (`random.plugin.json`: `{"name": "random", "kind": "searcher",
/// "version": "1.0.0", ...}`), so they are written once:
///
///     LEPTON_PLUGIN() {
///       registrar.add_searcher([](const lepton::SearcherSetup& setup) {
///         return std::make_unique<RandomSearcher>(setup);
///       });
///     }
///
/// A library built without lepton_add_plugin() states them itself, as
/// `LEPTON_PLUGIN(searcher, "random", "1.0.0") { ... }`: the kind (`searcher`, `model`, `dataset` or
/// `metric`), then name and version as string literals. Under lepton_add_plugin() that form must agree
/// with the manifest, or it does not compile. Use LEPTON_PLUGIN once per plugin library, at global scope.
#define LEPTON_PLUGIN(...)                                                                         \
  LEPTON_PLUGIN_PICK_(__VA_ARGS__, LEPTON_PLUGIN_STATED_, LEPTON_PLUGIN_ARITY_, LEPTON_PLUGIN_FROM_MANIFEST_, ) \
  (__VA_ARGS__)

// Picks by argument count: three, two, or none (one empty argument; a single real one is refused).
#define LEPTON_PLUGIN_PICK_(A, B, C, CHOSEN, ...) CHOSEN

#define LEPTON_PLUGIN_ARITY_(...)                                                                  \
  static_assert(false, "LEPTON_PLUGIN takes kind, name and version, or nothing");                 \
  static void lepton_register_plugin_(::lepton::Registrar& registrar)

#if defined(LEPTON_MANIFEST_NAME)
// Built by lepton_add_plugin(), which passes the manifest's identity to the compiler.
#define LEPTON_PLUGIN_FROM_MANIFEST_(...)                                                          \
  static_assert(sizeof(#__VA_ARGS__) == 1, "LEPTON_PLUGIN takes kind, name and version, or nothing"); \
  LEPTON_PLUGIN_DEFINE_EXPANDED_(LEPTON_MANIFEST_KIND, LEPTON_MANIFEST_NAME, LEPTON_MANIFEST_VERSION)
// What the source states must be what the manifest says.
#define LEPTON_PLUGIN_STATED_(KIND, NAME, VERSION)                                                 \
  static_assert(::lepton::detail::same_text(#KIND, LEPTON_STRINGIFY(LEPTON_MANIFEST_KIND)) &&      \
                    ::lepton::detail::same_text(NAME, LEPTON_MANIFEST_NAME) &&                     \
                    ::lepton::detail::same_text(VERSION, LEPTON_MANIFEST_VERSION),                 \
                "LEPTON_PLUGIN(kind, name, version) disagrees with the plugin's manifest; write "    \
                "LEPTON_PLUGIN() to take all three from it");                                     \
  LEPTON_PLUGIN_DEFINE_EXPANDED_(KIND, NAME, VERSION)
#else
#define LEPTON_PLUGIN_FROM_MANIFEST_(...)                                                          \
  static_assert(false, "LEPTON_PLUGIN() reads kind, name and version from the manifest, which "     \
                       "lepton_add_plugin() passes to the compiler; without it, write "             \
                       "LEPTON_PLUGIN(kind, \"name\", \"version\")");                               \
  static void lepton_register_plugin_(::lepton::Registrar& registrar)
#define LEPTON_PLUGIN_STATED_(KIND, NAME, VERSION) LEPTON_PLUGIN_DEFINE_EXPANDED_(KIND, NAME, VERSION)
#endif

// One more level, so that arguments given as macros (LEPTON_MANIFEST_KIND) are expanded before
// LEPTON_PLUGIN_DEFINE_ turns the kind into a string.
#define LEPTON_PLUGIN_DEFINE_EXPANDED_(KIND, NAME, VERSION) LEPTON_PLUGIN_DEFINE_(KIND, NAME, VERSION)

#define LEPTON_PLUGIN_DEFINE_(KIND, NAME, VERSION)                                                 \
  static void lepton_register_plugin_(::lepton::Registrar& registrar);                            \
  namespace {                                                                                     \
  const char* lepton_register_entry_(::lepton::Registrar* registrar) noexcept {                   \
    return ::lepton::detail::run_registration(registrar, &lepton_register_plugin_);                \
  }                                                                                               \
  const ::lepton::PluginInfo* lepton_plugin_info_entry_() noexcept {                              \
    static const ::lepton::PluginInfo info{                                                       \
        ::lepton::kAbiVersion,         sizeof(::lepton::PluginInfo),                              \
        static_cast<std::uint32_t>(::lepton::plugin_kind::KIND),                                  \
        NAME,                          VERSION,                                                   \
        LEPTON_BUILD_FINGERPRINT,      &lepton_register_entry_};                                  \
    return &info;                                                                                 \
  }                                                                                               \
  [[gnu::used, gnu::section(".lepton_plugin")]] const char lepton_plugin_stamp_[] =              \
      LEPTON_STAMP_PREFIX "abi=" LEPTON_STRINGIFY(LEPTON_ABI_VERSION) "|kind=" #KIND "|name=" NAME   \
      "|version=" VERSION "|fingerprint=" LEPTON_BUILD_FINGERPRINT "|";                           \
  }                                                                                               \
  BOOST_DLL_ALIAS(lepton_plugin_info_entry_, lepton_plugin_info)                                  \
  static void lepton_register_plugin_([[maybe_unused]] ::lepton::Registrar& registrar)
