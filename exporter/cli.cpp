#include "cli.h"

#include <arpa/inet.h>

#include <functional>
#include <optional>
#include <set>
#include <string_view>

namespace kscope {
namespace {

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One table drives both parsing and the help text, so they cannot drift apart.
struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool is_bool;
  // Shown after "=" in the help; empty for booleans.
  std::function<std::string(const Flags&)> placeholder;
  std::string_view help;
  // Stores the value; throws UsageError (message without the flag prefix) if invalid.
  std::function<void(Flags&, const std::string&)> set;
};

const std::vector<FlagSpec>& flag_specs() {
  static const std::vector<FlagSpec> specs = {
      {"web.listen-address", false, [](const Flags& f) { return quoted(f.listen_address); },
       "Address on which to expose metrics and web interface.",
       [](Flags& f, const std::string& v) {
         civetweb_listening_port(v);  // validate now so bad addresses fail before startup
         f.listen_address = v;
       }},
      {"web.telemetry-path", false, [](const Flags& f) { return quoted(f.telemetry_path); },
       "Path under which to expose metrics.",
       [](Flags& f, const std::string& v) {
         if (v.empty() || v[0] != '/') {
           throw UsageError("flag --web.telemetry-path: must start with '/', got " + quoted(v));
         }
         if (v == "/") {
           throw UsageError(
               "flag --web.telemetry-path: must not be \"/\" (the landing page is served there)");
         }
         f.telemetry_path = v;
       }},
      {"config.file", false, [](const Flags&) { return std::string("PATH"); },
       "YAML configuration file (sample interval, mode, modules); built-in defaults if unset.",
       [](Flags& f, const std::string& v) { f.config_file = v; }},
      {"web.config.file", false, [](const Flags&) { return std::string("PATH"); },
       "Configuration file that can enable TLS or authentication; plain HTTP if unset.",
       [](Flags& f, const std::string& v) { f.web_config_file = v; }},
      {"log.level", false, [](const Flags& f) { return std::string(log_level_name(f.log_level)); },
       "Only log messages with the given severity or above. One of: [debug, info, warn, error]",
       [](Flags& f, const std::string& v) {
         std::optional<LogLevel> level = parse_log_level(v);
         if (!level) {
           throw UsageError("flag --log.level: expected one of debug, info, warn, error, got " +
                            quoted(v));
         }
         f.log_level = *level;
       }},
      {"version", true, nullptr, "Show application version.",
       [](Flags& f, const std::string&) { f.show_version = true; }},
  };
  return specs;
}

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& spec : flag_specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool looks_like_flag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }

[[noreturn]] void bad_address(const std::string& address, const std::string& problem) {
  throw UsageError("flag --web.listen-address: invalid address " + quoted(address) + ": " +
                   problem);
}

}  // namespace

Flags parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  std::set<std::string_view> seen;
  bool after_terminator = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (after_terminator || !looks_like_flag(arg)) {
      throw UsageError("unexpected argument " + quoted(arg) + " (no positional arguments)");
    }
    if (arg == "--") {
      after_terminator = true;
      continue;
    }
    if (arg == "-h") {
      flags.show_help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unknown flag " + arg);

    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::optional<std::string> value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    std::string display = "--" + name;

    if (name == "help") {
      if (value) throw UsageError("flag --help: does not take a value");
      flags.show_help = true;
      continue;
    }
    const FlagSpec* spec = find_flag(name);
    if (!spec) throw UsageError("unknown flag " + display);
    // kingpin rejects repeats too; silently keeping the last one hides mistakes.
    if (!seen.insert(spec->name).second) {
      throw UsageError("flag " + display + ": cannot be repeated");
    }
    if (spec->is_bool) {
      if (value) throw UsageError("flag " + display + ": does not take a value");
      spec->set(flags, "");
      continue;
    }
    if (!value) {
      // "--config.file --log.level debug" means the value was forgotten, not that the
      // config file is named "--log.level"; use --flag=-x for such values.
      if (i + 1 >= args.size() || looks_like_flag(args[i + 1])) {
        throw UsageError("flag " + display + ": expected a value");
      }
      value = args[++i];
    }
    spec->set(flags, *value);
  }
  return flags;
}

std::string usage_text(const std::string& program) {
  constexpr size_t kHelpColumn = 29;
  std::string name = program.substr(program.find_last_of('/') + 1);
  if (name.empty()) name = "kscope";
  std::string out = "usage: " + name + " [<flags>]\n\n";
  out += "Prometheus exporter for kernel activity, measured with eBPF.\n\n";
  out += "Flags:\n";
  auto add = [&out](std::string left, std::string_view help) {
    if (left.size() + 2 <= kHelpColumn) {
      left.resize(kHelpColumn, ' ');
      out += left;
    } else {
      out += left + "\n" + std::string(kHelpColumn, ' ');
    }
    out += std::string(help) + "\n";
  };
  add("  -h, --help", "Show this help and exit.");
  const Flags defaults;
  for (const auto& spec : flag_specs()) {
    std::string left = "      --" + std::string(spec.name);
    if (!spec.is_bool) left += "=" + spec.placeholder(defaults);
    add(left, spec.help);
  }
  return out;
}

ListenAddress parse_listen_address(const std::string& listen_address) {
  const std::string& a = listen_address;
  const std::string kMissingPort = "missing port (expected [host]:port, e.g. \":9822\")";
  if (a.empty()) bad_address(a, "empty (expected [host]:port, e.g. \":9822\")");
  std::string host;
  std::string port;
  bool ipv6 = false;
  if (a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string::npos) bad_address(a, "missing ']'");
    host = a.substr(1, close - 1);
    if (close + 1 >= a.size() || a[close + 1] != ':') bad_address(a, kMissingPort);
    port = a.substr(close + 2);
    ipv6 = true;
  } else {
    size_t colon = a.rfind(':');
    if (colon == std::string::npos) bad_address(a, kMissingPort);
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      bad_address(a, "IPv6 hosts must be in brackets, e.g. \"[::1]:9822\"");
    }
  }

  if (port.empty()) bad_address(a, kMissingPort);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    bad_address(a, "port must be a number from 0 to 65535");
  }

  auto number = static_cast<uint16_t>(std::stoul(port));
  if (ipv6) {
    in6_addr addr6;
    if (inet_pton(AF_INET6, host.c_str(), &addr6) != 1) {
      bad_address(a, "not an IPv6 address: " + quoted(host));
    }
    return {host, number, true};
  }
  if (host.empty()) return {host, number, false};
  // civetweb only takes numeric addresses, and "localhost" is by far the common name.
  if (host == "localhost") host = "127.0.0.1";
  in_addr addr;
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    bad_address(a, "host must be an IP address or \"localhost\", got " + quoted(host));
  }
  return {host, number, false};
}

std::string civetweb_listening_port(const std::string& listen_address) {
  ListenAddress a = parse_listen_address(listen_address);
  std::string port = std::to_string(a.port);
  if (a.ipv6) return "[" + a.host + "]:" + port;
  return a.host.empty() ? port : a.host + ":" + port;
}

}  // namespace kscope
