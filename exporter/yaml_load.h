// Loading YAML with yaml-cpp 0.7 (Debian 12) without its parser stalling.
// On some malformed input ("," alone, or before the real content) it emits
// an empty document without consuming anything: YAML::LoadAll then loops
// forever, allocating (yaml-cpp issue #1040, fixed upstream in 2024, after
// 0.8.0), and YAML::Load returns that empty document and ignores the rest
// of the file.
// Found by test/fuzz/config_fuzz.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace kscope {

// Every document of text, as YAML::LoadAll gives them. Throws
// YAML::ParserException, also where the parser stops moving forward.
std::vector<YAML::Node> load_yaml_documents(const std::string& text);

}  // namespace kscope
