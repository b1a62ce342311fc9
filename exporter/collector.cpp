#include "collector.h"

namespace kscope {
namespace {

std::map<std::string, CollectorFactory>& factories() {
  static std::map<std::string, CollectorFactory> f;  // constructed on first use
  return f;
}

}  // namespace

bool register_collector(const std::string& name, CollectorFactory factory) {
  factories().emplace(name, std::move(factory));
  return true;
}

const std::map<std::string, CollectorFactory>& collector_factories() { return factories(); }

std::set<std::string> collector_names() {
  std::set<std::string> names;
  for (const auto& [name, _] : factories()) names.insert(name);
  return names;
}

}  // namespace kscope
