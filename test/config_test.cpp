#include "config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <string>

namespace kscope {
namespace {

using std::chrono::milliseconds;

const std::set<std::string> kModules = {"fd", "vfs", "process"};

std::string fixture(const std::string& name) { return std::string(KSCOPE_FIXTURES) + "/" + name; }

// Returns the ConfigError message, or fails the test if nothing was thrown.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ConfigError";
  return "";
}

std::string parse_error(const std::string& yaml) {
  return error_of([&] { parse_config(yaml, "test.yaml", kModules); });
}

TEST(ConfigTest, DefaultConfigEnablesEveryKnownModule) {
  Config c = default_config(kModules);
  EXPECT_EQ(c.sample_interval, milliseconds(1000));
  EXPECT_EQ(c.mode, Mode::kReturn);
  ASSERT_EQ(c.modules.size(), 3u);
  for (const auto& name : kModules) EXPECT_TRUE(c.module_enabled(name)) << name;
}

TEST(ConfigTest, ModuleEnabledIsFalseForUnknownNames) {
  Config c = default_config(kModules);
  EXPECT_FALSE(c.module_enabled("tcp"));
  EXPECT_FALSE(c.module_enabled(""));
}

TEST(ConfigTest, ModeName) {
  EXPECT_STREQ(mode_name(Mode::kReturn), "return");
  EXPECT_STREQ(mode_name(Mode::kEntry), "entry");
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  Config c = load_config_file(fixture("good_empty.yaml"), kModules);
  EXPECT_EQ(c.sample_interval, milliseconds(1000));
  EXPECT_EQ(c.mode, Mode::kReturn);
  EXPECT_EQ(c.modules.size(), 3u);
  EXPECT_TRUE(c.module_enabled("fd"));
}

TEST(ConfigTest, CommentsOnlyFileGivesDefaults) {
  Config c = load_config_file(fixture("good_comments_only.yaml"), kModules);
  EXPECT_EQ(c.sample_interval, milliseconds(1000));
  EXPECT_EQ(c.mode, Mode::kReturn);
  EXPECT_EQ(c.modules.size(), 3u);
}

TEST(ConfigTest, FullConfig) {
  Config c = load_config_file(fixture("good_full.yaml"), kModules);
  EXPECT_EQ(c.sample_interval, milliseconds(90'000));
  EXPECT_EQ(c.mode, Mode::kEntry);
  EXPECT_EQ(c.attribution, Attribution::kNone);
  EXPECT_EQ(c.max_cgroups, 20u);
  EXPECT_EQ(c.pods_log_dir, "/srv/pods");
  EXPECT_EQ(c.btf_path, "/srv/btf/vmlinux");
  EXPECT_FALSE(c.module_enabled("fd"));
  EXPECT_TRUE(c.module_enabled("vfs"));
  EXPECT_FALSE(c.module_enabled("process"));  // YAML 1.1 "no"
  EXPECT_EQ(c.module_attach("vfs"), Attach::kKprobe);
  EXPECT_EQ(c.module_attach("fd"), Attach::kAuto);  // the default
}

TEST(ConfigTest, PartialConfigKeepsDefaultsAndListsEveryModule) {
  Config c = load_config_file(fixture("good_partial.yaml"), kModules);
  EXPECT_EQ(c.sample_interval, milliseconds(500));
  EXPECT_EQ(c.mode, Mode::kReturn);
  ASSERT_EQ(c.modules.size(), 3u);
  EXPECT_TRUE(c.module_enabled("fd"));
  EXPECT_FALSE(c.module_enabled("vfs"));
  EXPECT_TRUE(c.module_enabled("process"));
}

TEST(ConfigTest, EmptyMapsAndNullsMeanDefaults) {
  Config c = parse_config("modules:\n  fd:\n  vfs: {}\n", "t", kModules);
  EXPECT_TRUE(c.module_enabled("fd"));
  EXPECT_TRUE(c.module_enabled("vfs"));
  c = parse_config("modules:\n", "t", kModules);
  EXPECT_EQ(c.modules.size(), 3u);
  c = parse_config("---\n", "t", kModules);
  EXPECT_EQ(c.modules.size(), 3u);
}

TEST(ConfigTest, ModuleNamesComeFromKnownModules) {
  std::set<std::string> known = {"alpha", "beta"};
  Config c = parse_config("modules:\n  beta: {enabled: false}\n", "t", known);
  EXPECT_EQ(c.modules.size(), 2u);
  EXPECT_TRUE(c.module_enabled("alpha"));
  EXPECT_FALSE(c.module_enabled("beta"));
  EXPECT_FALSE(c.module_enabled("fd"));
  std::string msg = error_of([&] { parse_config("modules:\n  fd: {}\n", "t", known); });
  EXPECT_NE(msg.find("known modules: alpha, beta"), std::string::npos) << msg;
}

TEST(ConfigTest, Durations) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c :
       {Case{"100ms", 100}, Case{"500ms", 500}, Case{"1s", 1000}, Case{"1s500ms", 1500},
        Case{"2m", 120'000}, Case{"1m30s", 90'000}, Case{"1h", 3'600'000},
        Case{"59m59s999ms", 3'599'999}, Case{"\"2s\"", 2000}}) {
    Config cfg = parse_config(std::string("sample_interval: ") + c.text, "t", kModules);
    EXPECT_EQ(cfg.sample_interval, milliseconds(c.ms)) << c.text;
  }
}

TEST(ConfigTest, BadDurations) {
  struct Case {
    const char* text;
    const char* problem;
  };
  for (const Case& c :
       {Case{"1x", "unknown unit \"x\""}, Case{"1.5s", "fractions"}, Case{"5", "missing unit"},
        Case{"s", "expected a number"}, Case{"-1s", "expected a number"},
        Case{"30s1m", "largest first"}, Case{"1s1s", "largest first"}, Case{"1 s", "unknown unit"},
        Case{"\"\"", "empty string"}, Case{"0", "too short"}, Case{"99ms", "too short"},
        Case{"2h", "too long"}, Case{"1d", "too long"},
        Case{"99999999999999999999999h", "too long"}}) {
    std::string msg = parse_error(std::string("sample_interval: ") + c.text);
    EXPECT_EQ(msg.rfind("test.yaml:1: sample_interval: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << c.text << " -> " << msg;
  }
}

TEST(ConfigTest, BooleanSpellings) {
  for (const char* t : {"true", "True", "yes", "on"}) {
    Config c = parse_config(std::string("modules: {fd: {enabled: ") + t + "}}", "t", kModules);
    EXPECT_TRUE(c.module_enabled("fd")) << t;
  }
  for (const char* t : {"false", "False", "no", "off"}) {
    Config c = parse_config(std::string("modules: {fd: {enabled: ") + t + "}}", "t", kModules);
    EXPECT_FALSE(c.module_enabled("fd")) << t;
  }
}

TEST(ConfigTest, TopLevelScalar) {
  std::string msg = parse_error("hello");
  EXPECT_EQ(msg.rfind("test.yaml:1: expected a map", 0), 0u) << msg;
}

TEST(ConfigTest, ValuesInMessagesStayOnOneLine) {
  std::string msg = parse_error("mode: \"a\\nb\"");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"a\\nb\""), std::string::npos) << msg;
}

// Found by test/fuzz/config_fuzz: keys and yaml-cpp's own messages echoed
// raw broke the one-line contract.
TEST(ConfigTest, KeysAndYamlMessagesStayOnOneLine) {
  std::string msg = parse_error("\"a\\nb\\rc\": 1");
  EXPECT_TRUE(msg.starts_with("test.yaml:1: a\\nb\\x0dc: unknown key; allowed keys:")) << msg;
  EXPECT_EQ(parse_error("mode: \"\\\x01\""),
            "test.yaml:1: invalid YAML: unknown escape character: \\x01");
}

// Found by test/fuzz/config_fuzz: yaml-cpp 0.7 looped forever, allocating,
// on a stray comma (exporter/yaml_load.h).
TEST(ConfigTest, StrayCommaIsAnErrorNotAHang) {
  EXPECT_EQ(parse_error(","), "test.yaml:1: invalid YAML: unexpected \",\"");
  EXPECT_EQ(parse_error("# comment\n,\nmode: entry\n"),
            "test.yaml:2: invalid YAML: unexpected \",\"");
}

TEST(ConfigTest, MissingFile) {
  std::string path = fixture("does_not_exist.yaml");
  std::string msg = error_of([&] { load_config_file(path, kModules); });
  EXPECT_EQ(msg, path + ": cannot read config file: No such file or directory");
}

TEST(ConfigTest, UnreadableFile) {
  // A directory opens but cannot be read, whatever our privileges.
  std::string path = KSCOPE_FIXTURES;
  std::string msg = error_of([&] { load_config_file(path, kModules); });
  EXPECT_EQ(msg, path + ": cannot read config file: Is a directory");
}

TEST(ConfigTest, ToYamlFormat) {
  Config c = default_config(kModules);
  c.sample_interval = milliseconds(500);
  c.mode = Mode::kEntry;
  c.modules["vfs"].enabled = false;
  EXPECT_EQ(to_yaml(c),
            "sample_interval: 500ms\n"
            "mode: entry\n"
            "attribution: cgroup\n"
            "max_cgroups: 500\n"
            "pods_log_dir: /var/log/pods\n"
            "btf_path: /sys/kernel/btf/vmlinux\n"
            "bpf_stats: false\n"
            "modules:\n"
            "  fd: {enabled: true, attach: auto}\n"
            "  process: {enabled: true, attach: auto}\n"
            "  vfs: {enabled: false, attach: auto}\n");
}

TEST(ConfigTest, ToYamlIntervals) {
  Config c = default_config(kModules);
  for (auto [ms, text] : {std::pair{1000, "1s"},
                          {500, "500ms"},
                          {90'000, "1m30s"},
                          {3'600'000, "1h"},
                          {1500, "1s500ms"}}) {
    c.sample_interval = milliseconds(ms);
    YAML::Node n = YAML::Load(to_yaml(c));
    EXPECT_EQ(n["sample_interval"].as<std::string>(), text);
  }
}

TEST(ConfigTest, ToYamlRoundTrips) {
  Config c = load_config_file(fixture("good_full.yaml"), kModules);
  Config back = parse_config(to_yaml(c), "roundtrip", kModules);
  EXPECT_EQ(back.sample_interval, c.sample_interval);
  EXPECT_EQ(back.mode, c.mode);
  ASSERT_EQ(back.modules.size(), c.modules.size());
  EXPECT_EQ(back.btf_path, c.btf_path);
  for (const auto& [name, m] : c.modules) {
    EXPECT_EQ(back.module_enabled(name), m.enabled) << name;
    EXPECT_EQ(back.module_attach(name), m.attach) << name;
  }
}

// Each bad fixture must fail with "<path>:<line>: <key>: ..." plus a helpful problem text.
struct BadCase {
  const char* file;
  int line;
  const char* key;  // empty: errors with no key path
  const char* problem;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.file; }

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, FailsWithKeyAndLine) {
  const BadCase& c = GetParam();
  std::string path = fixture(c.file);
  std::string msg = error_of([&] { load_config_file(path, kModules); });
  std::string prefix = path + ":" + std::to_string(c.line) + ": ";
  if (*c.key) prefix += std::string(c.key) + ": ";
  EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "message: " << msg << "\nexpected prefix: " << prefix;
  EXPECT_NE(msg.find(c.problem), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadConfigTest,
    ::testing::Values(
        BadCase{"bad_unknown_key.yaml", 2, "interval",
                "unknown key; allowed keys: sample_interval, mode, attribution, max_cgroups, "
                "pods_log_dir, btf_path, bpf_stats, modules"},
        BadCase{"bad_unknown_module.yaml", 3, "modules.tcp",
                "unknown module; known modules: fd, process, vfs"},
        BadCase{"bad_module_key.yaml", 4, "modules.fd.enbled",
                "unknown key; allowed keys: enabled, attach"},
        BadCase{"bad_attach.yaml", 3, "modules.fd.attach",
                "expected one of auto, fentry, kprobe, tracepoint, got \"trampoline\""},
        BadCase{"bad_enabled_type.yaml", 4, "modules.vfs.enabled",
                "expected true or false, got \"maybe\""},
        BadCase{"bad_enabled_empty.yaml", 3, "modules.vfs.enabled",
                "expected true or false, got an empty value"},
        BadCase{"bad_modules_type.yaml", 3, "modules", "expected a map of module names"},
        BadCase{"bad_module_not_map.yaml", 2, "modules.process", "expected a map such as"},
        BadCase{"bad_interval_type.yaml", 1, "sample_interval", "got a sequence"},
        BadCase{"bad_duration.yaml", 2, "sample_interval",
                "invalid duration \"1x\": unknown unit \"x\""},
        BadCase{"bad_duration_no_unit.yaml", 1, "sample_interval", "missing unit"},
        BadCase{"bad_interval_too_small.yaml", 2, "sample_interval",
                "\"50ms\" is too short (minimum 100ms)"},
        BadCase{"bad_interval_too_large.yaml", 1, "sample_interval",
                "\"1h1s\" is too long (maximum 1h)"},
        BadCase{"bad_mode.yaml", 2, "mode", "expected one of return, entry, got \"exit\""},
        BadCase{"bad_syntax.yaml", 3, "", "invalid YAML: "},
        BadCase{"bad_not_map.yaml", 1, "", "expected a map of settings at the top level"},
        BadCase{"bad_duplicate_key.yaml", 3, "mode", "duplicate key (first defined on line 1)"},
        BadCase{"bad_duplicate_module.yaml", 4, "modules.fd",
                "duplicate key (first defined on line 2)"},
        BadCase{"bad_multiple_documents.yaml", 3, "", "expected a single YAML document"},
        BadCase{"bad_non_string_key.yaml", 2, "(key)", "keys must be strings"},
        BadCase{"bad_max_cgroups.yaml", 2, "max_cgroups", "\"0\" is out of range (1 to 100000)"},
        BadCase{"bad_attribution.yaml", 1, "attribution",
                "expected one of cgroup, none, got \"pod\""}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

TEST(BadConfigFixturesTest, EveryBadFixtureIsCovered) {
  // Guards against adding a bad_*.yaml that no test checks.
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KSCOPE_FIXTURES)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("bad_", 0) != 0) continue;
    ++count;
    std::string msg = error_of([&] { load_config_file(entry.path().string(), kModules); });
    EXPECT_FALSE(msg.empty()) << name;
  }
  EXPECT_EQ(count, 22);
}

}  // namespace
}  // namespace kscope
