// Fuzzes the --web.config.file loader. Whatever the bytes, it returns a
// WebConfig (TLS files both or neither, absolute and readable; every user
// with a bcrypt-shaped hash) or throws ConfigError with a one-line message
// naming the file. The input is written as web.yml into a directory that
// holds cert.pem and key.pem, so relative file names can resolve.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config.h"
#include "web_config.h"

namespace {

namespace fs = std::filesystem;

fs::path g_dir;

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "web_config_fuzz: %s:\n%s\n", what, detail.c_str());
  std::abort();
}

void remove_dir() {
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

bool readable_absolute(const std::string& path) {
  return fs::path(path).is_absolute() && access(path.c_str(), R_OK) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/kscope-web-config-fuzz-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) broken("mkdtemp", tmpl);
  g_dir = tmpl;
  std::ofstream(g_dir / "cert.pem") << "cert\n";
  std::ofstream(g_dir / "key.pem") << "key\n";
  std::atexit(remove_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (g_dir / "web.yml").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  kscope::WebConfig wc;
  try {
    wc = kscope::load_web_config(path);
  } catch (const kscope::ConfigError& e) {
    std::string_view msg = e.what();
    if (!msg.starts_with(path)) broken("error does not name the file", e.what());
    if (msg.find_first_of("\n\r") != std::string_view::npos)
      broken("error is not one line", e.what());
    return 0;
  }
  if (wc.cert_file.empty() != wc.key_file.empty())
    broken("only one of cert_file and key_file", wc.cert_file + " | " + wc.key_file);
  if (wc.tls() && !(readable_absolute(wc.cert_file) && readable_absolute(wc.key_file)))
    broken("TLS file not absolute or not readable", wc.cert_file + " | " + wc.key_file);
  for (const auto& [user, hash] : wc.users)
    if (hash.size() != 60 || !hash.starts_with("$2"))
      broken("not a bcrypt hash", user + ": " + hash);
  return 0;
}
