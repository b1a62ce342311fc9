// Fuzzes the YAML config loader (--config.file). Whatever the bytes, it
// returns a Config within the documented ranges or throws ConfigError with a
// one-line message naming the file; a Config it returns survives to_yaml()
// and back unchanged (the landing page shows that YAML as the config in use).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "config.h"

namespace {

const std::set<std::string> kModules{"fd", "process", "vfs"};

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: %s:\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  kscope::Config config;
  try {
    config = kscope::parse_config(text, "fuzz.yaml", kModules);
  } catch (const kscope::ConfigError& e) {
    std::string_view msg = e.what();
    if (!msg.starts_with("fuzz.yaml")) broken("error does not name the file", e.what());
    if (msg.find_first_of("\n\r") != std::string_view::npos)
      broken("error is not one line", e.what());
    return 0;
  }
  if (config.sample_interval < std::chrono::milliseconds(100) ||
      config.sample_interval > std::chrono::hours(1))
    broken("sample_interval out of range", kscope::to_yaml(config));
  if (config.max_cgroups < 1 || config.max_cgroups > 100000)
    broken("max_cgroups out of range", kscope::to_yaml(config));
  for (const auto& [name, module] : config.modules)
    if (!kModules.count(name)) broken("unknown module accepted", name);

  const std::string yaml = kscope::to_yaml(config);
  try {
    if (kscope::to_yaml(kscope::parse_config(yaml, "to_yaml", kModules)) != yaml)
      broken("to_yaml and back changed the config", yaml);
  } catch (const kscope::ConfigError& e) {
    broken("to_yaml output does not load", yaml + e.what());
  }
  return 0;
}
