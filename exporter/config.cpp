#include "config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "yaml_load.h"

namespace kscope {
namespace {

constexpr std::chrono::milliseconds kMinInterval{100};
constexpr std::chrono::milliseconds kMaxInterval{std::chrono::hours(1)};

// Values echoed in messages must not break the one-line contract or flood it.
std::string quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return escape_controls(out) + (s.size() > kMax ? "...\"" : "\"");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Scalar:
      return quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Shared by every check so all messages follow "<source>:<line>: <key>: <problem>".
class Parser {
 public:
  Parser(const std::string& source, const std::set<std::string>& known_modules)
      : source_(source), known_modules_(known_modules) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& problem) const {
    std::string msg = source_;
    if (mark.line >= 0) msg += ":" + std::to_string(mark.line + 1);
    msg += ": ";
    if (!key.empty()) msg += key + ": ";
    msg += problem;
    throw ConfigError(escape_controls(msg));
  }

  Config parse(const YAML::Node& root) {
    Config config = default_config(known_modules_);
    if (root.IsNull()) return config;
    if (!root.IsMap()) {
      fail(root.Mark(), "", "expected a map of settings at the top level, got " + describe(root));
    }
    for (const auto& [key, value, mark, key_mark] : entries(root, "")) {
      if (key == "sample_interval") {
        config.sample_interval = parse_interval(value, key, mark);
      } else if (key == "mode") {
        config.mode = parse_mode(value, key, mark);
      } else if (key == "modules") {
        parse_modules(value, key, mark, config);
      } else if (key == "attribution") {
        config.attribution = parse_attribution(value, key, mark);
      } else if (key == "max_cgroups") {
        config.max_cgroups = parse_count(value, key, mark, 1, 100000);
      } else if (key == "pods_log_dir") {
        config.pods_log_dir = parse_path(value, key, mark, "a directory path");
      } else if (key == "btf_path") {
        config.btf_path = parse_path(value, key, mark, "a file path");
      } else if (key == "bpf_stats") {
        config.bpf_stats = parse_bool(value, key, mark);
      } else {
        fail(key_mark, key,
             "unknown key; allowed keys: sample_interval, mode, attribution, max_cgroups, "
             "pods_log_dir, btf_path, bpf_stats, modules");
      }
    }
    return config;
  }

 private:
  struct Entry {
    std::string key;
    YAML::Node value;
    YAML::Mark mark;  // where the value is, or the key when the value is empty
    YAML::Mark key_mark;
  };

  // Flattens a map, rejecting non-string and duplicate keys (yaml-cpp keeps both copies
  // of a duplicate, and lookups would silently pick one).
  std::vector<Entry> entries(const YAML::Node& map, const std::string& prefix) const {
    std::vector<Entry> out;
    std::map<std::string, int> first_line;
    for (const auto& kv : map) {
      // Copies: the iterator yields a temporary pair, so references would dangle.
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      if (!k.IsScalar()) {
        fail(k.Mark(), prefix.empty() ? "(key)" : prefix,
             "keys must be strings, got " + describe(k));
      }
      std::string path = prefix.empty() ? k.Scalar() : prefix + "." + k.Scalar();
      int line = k.Mark().line;
      auto [prev, inserted] = first_line.emplace(k.Scalar(), line);
      if (!inserted) {
        fail(k.Mark(), path,
             "duplicate key (first defined on line " + std::to_string(prev->second + 1) + ")");
      }
      // yaml-cpp marks an empty value at the next token, possibly lines later.
      YAML::Mark mark = v.IsNull() ? k.Mark() : v.Mark();
      out.push_back({k.Scalar(), v, mark, k.Mark()});
    }
    return out;
  }

  Attribution parse_attribution(const YAML::Node& v, const std::string& path,
                                const YAML::Mark& mark) const {
    if (v.IsScalar() && v.Scalar() == "cgroup") return Attribution::kCgroup;
    if (v.IsScalar() && v.Scalar() == "none") return Attribution::kNone;
    fail(mark, path,
         "expected one of cgroup, none, got " + (v.IsScalar() ? quote(v.Scalar()) : describe(v)));
    return Attribution::kNone;
  }

  uint32_t parse_count(const YAML::Node& v, const std::string& path, const YAML::Mark& mark,
                       uint32_t min, uint32_t max) const {
    const std::string range = " (" + std::to_string(min) + " to " + std::to_string(max) + ")";
    if (!v.IsScalar() || v.Scalar().empty() ||
        v.Scalar().find_first_not_of("0123456789") != std::string::npos)
      fail(mark, path,
           "expected a whole number" + range + ", got " +
               (v.IsScalar() ? quote(v.Scalar()) : describe(v)));
    if (v.Scalar().size() > 9 || std::stoul(v.Scalar()) < min || std::stoul(v.Scalar()) > max)
      fail(mark, path, quote(v.Scalar()) + " is out of range" + range);
    return static_cast<uint32_t>(std::stoul(v.Scalar()));
  }

  std::chrono::milliseconds parse_interval(const YAML::Node& v, const std::string& path,
                                           const YAML::Mark& mark) const {
    if (!v.IsScalar()) {
      fail(mark, path, "expected a duration such as \"1s\" or \"500ms\", got " + describe(v));
    }
    const std::string& text = v.Scalar();
    std::string problem;
    std::optional<uint64_t> ms = parse_duration_ms(text, problem);
    if (!ms) fail(mark, path, "invalid duration " + quote(text) + ": " + problem);
    if (*ms < static_cast<uint64_t>(kMinInterval.count())) {
      fail(mark, path, quote(text) + " is too short (minimum 100ms)");
    }
    if (*ms > static_cast<uint64_t>(kMaxInterval.count())) {
      fail(mark, path, quote(text) + " is too long (maximum 1h)");
    }
    return std::chrono::milliseconds(*ms);
  }

  // Prometheus duration syntax: integer components, each unit at most once, largest
  // first ("1m30s"). Saturates instead of overflowing so huge values read as too long.
  static std::optional<uint64_t> parse_duration_ms(const std::string& s, std::string& problem) {
    struct Unit {
      std::string_view name;
      uint64_t ms;
    };
    static constexpr Unit kUnits[] = {
        {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
    constexpr uint64_t kCap = uint64_t{1} << 62;
    if (s.empty()) {
      problem = "empty string";
      return std::nullopt;
    }
    uint64_t total = 0;
    size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
    size_t i = 0;
    while (i < s.size()) {
      size_t start = i;
      uint64_t n = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        n = n > kCap / 10 ? kCap : std::min(kCap, n * 10 + static_cast<uint64_t>(s[i] - '0'));
        ++i;
      }
      if (i == start) {
        problem = "expected a number at " + quote(s.substr(i));
        return std::nullopt;
      }
      if (i < s.size() && s[i] == '.') {
        problem = "fractions are not supported, use a smaller unit (e.g. \"1500ms\")";
        return std::nullopt;
      }
      size_t unit_start = i;
      while (i < s.size() && !(s[i] >= '0' && s[i] <= '9')) ++i;
      std::string_view unit = std::string_view(s).substr(unit_start, i - unit_start);
      if (unit.empty()) {
        // A bare "0" is accepted by Prometheus; it then fails the range check.
        if (s == "0") return 0;
        problem = "missing unit (use ms, s, m, h or d, e.g. \"1s\")";
        return std::nullopt;
      }
      size_t u = 0;
      while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
      if (u == std::size(kUnits)) {
        problem = "unknown unit " + quote(unit) + " (use ms, s, m, h or d)";
        return std::nullopt;
      }
      if (u < next_unit) {
        problem = "each unit may appear once, largest first (e.g. \"1m30s\")";
        return std::nullopt;
      }
      next_unit = u + 1;
      uint64_t part = n > kCap / kUnits[u].ms ? kCap : n * kUnits[u].ms;
      total = std::min(kCap, total + part);
    }
    return total;
  }

  Mode parse_mode(const YAML::Node& v, const std::string& path, const YAML::Mark& mark) const {
    if (v.IsScalar()) {
      if (v.Scalar() == "return") return Mode::kReturn;
      if (v.Scalar() == "entry") return Mode::kEntry;
    }
    fail(mark, path, "expected one of return, entry, got " + describe(v));
  }

  // An absolute path of printable characters: what was read is what is
  // opened, and what to_yaml writes back (found by test/fuzz/config_fuzz:
  // a control byte did not survive the round trip).
  std::string parse_path(const YAML::Node& v, const std::string& path, const YAML::Mark& mark,
                         const std::string& what) const {
    bool ok = v.IsScalar() && v.Scalar().starts_with('/') &&
              std::none_of(v.Scalar().begin(), v.Scalar().end(), [](char c) {
                auto u = static_cast<unsigned char>(c);
                return u < 0x20 || u >= 0x7f;
              });
    if (!ok) fail(mark, path, "expected " + what + " (absolute, printable), got " + describe(v));
    return v.Scalar();
  }

  bool parse_bool(const YAML::Node& v, const std::string& path, const YAML::Mark& mark) const {
    bool b = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
      fail(mark, path, "expected true or false, got " + describe(v));
    }
    return b;
  }

  std::string known_list() const {
    if (known_modules_.empty()) return "(none)";
    return join({known_modules_.begin(), known_modules_.end()});
  }

  void parse_modules(const YAML::Node& v, const std::string& path, const YAML::Mark& mark,
                     Config& config) const {
    if (v.IsNull()) return;  // "modules:" with everything below commented out
    if (!v.IsMap()) {
      fail(mark, path, "expected a map of module names (" + known_list() + "), got " + describe(v));
    }
    for (const auto& [name, body, body_mark, name_mark] : entries(v, path)) {
      std::string module_path = path + "." + name;
      if (!known_modules_.count(name)) {
        fail(name_mark, module_path, "unknown module; known modules: " + known_list());
      }
      ModuleConfig& module = config.modules[name];
      if (body.IsNull()) continue;
      if (!body.IsMap()) {
        fail(body_mark, module_path,
             "expected a map such as {enabled: true}, got " + describe(body));
      }
      for (const auto& [key, value, value_mark, key_mark] : entries(body, module_path)) {
        std::string key_path = module_path + "." + key;
        if (key == "enabled") {
          module.enabled = parse_bool(value, key_path, value_mark);
        } else if (key == "attach") {
          auto attach = value.IsScalar() ? parse_attach(value.Scalar()) : std::nullopt;
          if (!attach) {
            fail(value_mark, key_path,
                 "expected one of auto, fentry, kprobe, tracepoint, got " + describe(value));
          }
          module.attach = *attach;
        } else {
          fail(key_mark, key_path, "unknown key; allowed keys: enabled, attach");
        }
      }
    }
  }

  const std::string& source_;
  const std::set<std::string>& known_modules_;
};

std::string format_interval(std::chrono::milliseconds interval) {
  int64_t ms = interval.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : kUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace

std::string escape_controls(const std::string& s) {
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

const char* attribution_name(Attribution a) {
  return a == Attribution::kCgroup ? "cgroup" : "none";
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kReturn:
      return "return";
    case Mode::kEntry:
      return "entry";
  }
  return "?";
}

bool Config::module_enabled(const std::string& name) const {
  auto it = modules.find(name);
  return it != modules.end() && it->second.enabled;
}

Attach Config::module_attach(const std::string& name) const {
  auto it = modules.find(name);
  return it == modules.end() ? Attach::kAuto : it->second.attach;
}

const char* attach_name(Attach a) {
  switch (a) {
    case Attach::kAuto:
      return "auto";
    case Attach::kFentry:
      return "fentry";
    case Attach::kKprobe:
      return "kprobe";
    case Attach::kTracepoint:
      return "tracepoint";
  }
  return "?";
}

std::optional<Attach> parse_attach(const std::string& name) {
  for (Attach a : {Attach::kAuto, Attach::kFentry, Attach::kKprobe, Attach::kTracepoint})
    if (name == attach_name(a)) return a;
  return std::nullopt;
}

Config default_config(const std::set<std::string>& known_modules) {
  Config config;
  for (const auto& name : known_modules) config.modules[name] = ModuleConfig{};
  return config;
}

Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const std::set<std::string>& known_modules) {
  Parser parser(source_name, known_modules);
  std::vector<YAML::Node> docs;
  try {
    docs = load_yaml_documents(yaml_text);
  } catch (const YAML::ParserException& e) {
    parser.fail(e.mark, "", "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    parser.fail(e.mark, "", std::string("invalid YAML: ") + e.what());
  }
  // A trailing "---" yields an extra empty document; only real content counts.
  YAML::Node root;
  bool have_root = false;
  for (const auto& doc : docs) {
    if (doc.IsNull()) continue;
    if (have_root) parser.fail(doc.Mark(), "", "expected a single YAML document, found several");
    root = doc;
    have_root = true;
  }
  try {
    return parser.parse(root);
  } catch (const YAML::Exception& e) {
    // Defensive: node access should not throw, but never let a yaml-cpp error escape.
    parser.fail(e.mark, "", e.what());
  }
}

Config load_config_file(const std::string& path, const std::set<std::string>& known_modules) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto fail = [&path](int err) {
    throw ConfigError(path + ": cannot read config file: " + std::strerror(err));
  };
  if (fd < 0) fail(errno);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_config(text, path, known_modules);
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "sample_interval" << YAML::Value << format_interval(config.sample_interval);
  out << YAML::Key << "mode" << YAML::Value << mode_name(config.mode);
  out << YAML::Key << "attribution" << YAML::Value << attribution_name(config.attribution);
  out << YAML::Key << "max_cgroups" << YAML::Value << config.max_cgroups;
  out << YAML::Key << "pods_log_dir" << YAML::Value << config.pods_log_dir;
  out << YAML::Key << "btf_path" << YAML::Value << config.btf_path;
  out << YAML::Key << "bpf_stats" << YAML::Value << config.bpf_stats;
  out << YAML::Key << "modules" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, module] : config.modules) {
    out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "enabled" << YAML::Value << module.enabled;
    out << YAML::Key << "attach" << YAML::Value << attach_name(module.attach);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kscope
