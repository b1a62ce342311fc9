#include "cli.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace kscope {
namespace {

// Returns the UsageError message, or fails the test if nothing was thrown.
std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected UsageError";
  return "";
}

std::string flags_error(const std::vector<std::string>& args) {
  return usage_error([&] { parse_flags(args); });
}

std::string address_error(const std::string& address) {
  return usage_error([&] { civetweb_listening_port(address); });
}

TEST(ParseFlagsTest, Defaults) {
  Flags f = parse_flags({});
  EXPECT_EQ(f.listen_address, ":9822");
  EXPECT_EQ(f.telemetry_path, "/metrics");
  EXPECT_EQ(f.config_file, "");
  EXPECT_EQ(f.web_config_file, "");
  EXPECT_EQ(f.log_level, LogLevel::kInfo);
  EXPECT_FALSE(f.show_version);
  EXPECT_FALSE(f.show_help);
}

TEST(ParseFlagsTest, EqualsForm) {
  Flags f = parse_flags({"--web.listen-address=127.0.0.1:9100", "--web.telemetry-path=/m",
                         "--config.file=/etc/kscope.yaml", "--web.config.file=/etc/web.yml",
                         "--log.level=debug"});
  EXPECT_EQ(f.listen_address, "127.0.0.1:9100");
  EXPECT_EQ(f.telemetry_path, "/m");
  EXPECT_EQ(f.config_file, "/etc/kscope.yaml");
  EXPECT_EQ(f.web_config_file, "/etc/web.yml");
  EXPECT_EQ(f.log_level, LogLevel::kDebug);
}

TEST(ParseFlagsTest, SeparateValueForm) {
  Flags f = parse_flags({"--web.listen-address", "[::1]:9822", "--web.telemetry-path", "/x/y",
                         "--config.file", "c.yaml", "--web.config.file", "w.yml", "--log.level",
                         "error"});
  EXPECT_EQ(f.listen_address, "[::1]:9822");
  EXPECT_EQ(f.telemetry_path, "/x/y");
  EXPECT_EQ(f.config_file, "c.yaml");
  EXPECT_EQ(f.web_config_file, "w.yml");
  EXPECT_EQ(f.log_level, LogLevel::kError);
}

TEST(ParseFlagsTest, ValueMayContainEqualsOrStartWithDashViaEquals) {
  Flags f = parse_flags({"--config.file=a=b.yaml", "--web.config.file=-odd"});
  EXPECT_EQ(f.config_file, "a=b.yaml");
  EXPECT_EQ(f.web_config_file, "-odd");
}

TEST(ParseFlagsTest, LogLevels) {
  EXPECT_EQ(parse_flags({"--log.level=debug"}).log_level, LogLevel::kDebug);
  EXPECT_EQ(parse_flags({"--log.level=info"}).log_level, LogLevel::kInfo);
  EXPECT_EQ(parse_flags({"--log.level=warn"}).log_level, LogLevel::kWarn);
  EXPECT_EQ(parse_flags({"--log.level=error"}).log_level, LogLevel::kError);
}

TEST(ParseFlagsTest, Booleans) {
  EXPECT_TRUE(parse_flags({"--version"}).show_version);
  EXPECT_TRUE(parse_flags({"--help"}).show_help);
  EXPECT_TRUE(parse_flags({"-h"}).show_help);
  Flags f = parse_flags({"--version", "--log.level", "warn"});
  EXPECT_TRUE(f.show_version);
  EXPECT_FALSE(f.show_help);
}

TEST(ParseFlagsTest, DoubleDashEndsFlags) {
  EXPECT_NO_THROW(parse_flags({"--version", "--"}));
  EXPECT_NE(flags_error({"--", "--version"}).find("unexpected argument \"--version\""),
            std::string::npos);
}

TEST(ParseFlagsTest, UnknownFlag) {
  EXPECT_EQ(flags_error({"--foo"}), "unknown flag --foo");
  EXPECT_EQ(flags_error({"--foo=1"}), "unknown flag --foo");
  EXPECT_EQ(flags_error({"-x"}), "unknown flag -x");
  EXPECT_EQ(flags_error({"--web.listen-addr", ":1"}), "unknown flag --web.listen-addr");
}

TEST(ParseFlagsTest, MissingValue) {
  EXPECT_EQ(flags_error({"--config.file"}), "flag --config.file: expected a value");
  EXPECT_EQ(flags_error({"--log.level"}), "flag --log.level: expected a value");
  // The next flag is not taken as the value.
  EXPECT_EQ(flags_error({"--config.file", "--log.level", "debug"}),
            "flag --config.file: expected a value");
}

TEST(ParseFlagsTest, PositionalArgument) {
  EXPECT_EQ(flags_error({"extra"}), "unexpected argument \"extra\" (no positional arguments)");
  EXPECT_EQ(flags_error({"--log.level", "info", "extra"}),
            "unexpected argument \"extra\" (no positional arguments)");
  EXPECT_EQ(flags_error({"-"}), "unexpected argument \"-\" (no positional arguments)");
}

TEST(ParseFlagsTest, BadLogLevel) {
  EXPECT_EQ(flags_error({"--log.level=loud"}),
            "flag --log.level: expected one of debug, info, warn, error, got \"loud\"");
  EXPECT_EQ(flags_error({"--log.level", "INFO"}),
            "flag --log.level: expected one of debug, info, warn, error, got \"INFO\"");
}

TEST(ParseFlagsTest, BadTelemetryPath) {
  EXPECT_EQ(flags_error({"--web.telemetry-path=metrics"}),
            "flag --web.telemetry-path: must start with '/', got \"metrics\"");
  EXPECT_EQ(flags_error({"--web.telemetry-path="}),
            "flag --web.telemetry-path: must start with '/', got \"\"");
  EXPECT_EQ(flags_error({"--web.telemetry-path", "/"}),
            "flag --web.telemetry-path: must not be \"/\" (the landing page is served there)");
}

TEST(ParseFlagsTest, BadListenAddressNamesTheFlag) {
  std::string msg = flags_error({"--web.listen-address=abc"});
  EXPECT_EQ(msg.rfind("flag --web.listen-address: ", 0), 0u) << msg;
}

TEST(ParseFlagsTest, BooleanWithValue) {
  EXPECT_EQ(flags_error({"--version=true"}), "flag --version: does not take a value");
  EXPECT_EQ(flags_error({"--help=1"}), "flag --help: does not take a value");
}

TEST(ParseFlagsTest, RepeatedFlag) {
  EXPECT_EQ(flags_error({"--log.level=info", "--log.level", "debug"}),
            "flag --log.level: cannot be repeated");
}

TEST(ParseFlagsTest, ErrorsAreOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--foo"}, {"--config.file"}, {"x"}, {"--log.level=x"}, {"--web.listen-address=x"}}) {
    EXPECT_EQ(flags_error(args).find('\n'), std::string::npos);
  }
}

TEST(UsageTextTest, ListsEveryFlagWithDefaults) {
  std::string text = usage_text("/usr/local/bin/kscope");
  EXPECT_EQ(text.rfind("usage: kscope [<flags>]\n", 0), 0u) << text;
  for (const char* s :
       {"-h, --help", "--web.listen-address=\":9822\"", "--web.telemetry-path=\"/metrics\"",
        "--config.file=PATH", "--web.config.file=PATH", "--log.level=info", "--version",
        "Address on which to expose metrics", "Path under which to expose metrics",
        "[debug, info, warn, error]", "Show application version."}) {
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  }
}

TEST(UsageTextTest, DescriptionsAreAligned) {
  // kingpin layout: a description follows on the same line when the flag is short,
  // otherwise on the next line; either way it starts in the same column.
  std::string text = usage_text("kscope");
  EXPECT_NE(text.find("  -h, --help                 Show this help and exit.\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("      --web.listen-address=\":9822\"\n"
                      "                             Address on which"),
            std::string::npos)
      << text;
}

TEST(ListeningPortTest, GoStyleAddresses) {
  EXPECT_EQ(civetweb_listening_port(":9822"), "9822");
  EXPECT_EQ(civetweb_listening_port(":0"), "0");
  EXPECT_EQ(civetweb_listening_port("0.0.0.0:9822"), "0.0.0.0:9822");
  EXPECT_EQ(civetweb_listening_port("127.0.0.1:0"), "127.0.0.1:0");
  EXPECT_EQ(civetweb_listening_port("[::1]:9822"), "[::1]:9822");
  EXPECT_EQ(civetweb_listening_port("[::]:65535"), "[::]:65535");
  EXPECT_EQ(civetweb_listening_port("localhost:9822"), "127.0.0.1:9822");
}

TEST(ListeningPortTest, Rejects) {
  struct Case {
    const char* address;
    const char* problem;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"abc", "missing port"},
           Case{"9822", "missing port"},
           Case{"127.0.0.1", "missing port"},
           Case{"127.0.0.1:", "missing port"},
           Case{":", "missing port"},
           Case{":http", "port must be a number from 0 to 65535"},
           Case{":65536", "port must be a number from 0 to 65535"},
           Case{":123456", "port must be a number from 0 to 65535"},
           Case{":-1", "port must be a number from 0 to 65535"},
           Case{":+80", "port must be a number from 0 to 65535"},
           Case{"example.com:80", "host must be an IP address or \"localhost\""},
           Case{"256.0.0.1:80", "host must be an IP address"},
           Case{"::1:9822", "IPv6 hosts must be in brackets"},
           Case{"[::1]", "missing port"},
           Case{"[::1]9822", "missing port"},
           Case{"[::1:9822", "missing ']'"},
           Case{"[127.0.0.1]:80", "not an IPv6 address"},
           Case{"[zz]:80", "not an IPv6 address"},
       }) {
    std::string msg = address_error(c.address);
    std::string prefix =
        std::string("flag --web.listen-address: invalid address \"") + c.address + "\": ";
    EXPECT_EQ(msg.rfind(prefix, 0), 0u) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << c.address << " -> " << msg;
  }
}

}  // namespace
}  // namespace kscope
