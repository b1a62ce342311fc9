#include "web_config.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "config.h"
#include "yaml_load.h"
#include "log.h"

namespace kscope {
namespace {

[[noreturn]] void fail(const std::string& path, const YAML::Mark& mark, const std::string& key,
                       const std::string& problem) {
  std::string at = mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : "";
  throw ConfigError(escape_controls(path + at + ": " + (key.empty() ? "" : key + ": ") + problem));
}

std::string resolve(const std::string& config_path, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_absolute()) return file;  // relative paths are relative to the config, as in Go
  return (std::filesystem::path(config_path).parent_path() / p).lexically_normal().string();
}

void check_readable(const std::string& config_path, const YAML::Mark& mark, const std::string& key,
                    const std::string& file) {
  if (access(file.c_str(), R_OK) != 0)
    fail(config_path, mark, key, "cannot read " + file + ": " + std::strerror(errno));
}

std::string sha256(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

WebConfig load_web_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read web config file: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  bool have_root = false;
  try {
    // One document: an empty first one must not hide the users after it.
    for (const auto& doc : load_yaml_documents(text.str())) {
      if (doc.IsNull()) continue;
      if (have_root) fail(path, doc.Mark(), "", "expected a single YAML document, found several");
      root = doc;
      have_root = true;
    }
  } catch (const YAML::ParserException& e) {
    fail(path, e.mark, "", "invalid YAML: " + e.msg);
  }
  WebConfig wc;
  wc.source = path;
  if (root.IsNull()) return wc;
  if (!root.IsMap()) fail(path, root.Mark(), "", "expected a map at the top level");
  for (const auto& kv : root) {
    const YAML::Node k = kv.first, v = kv.second;
    std::string key = k.Scalar();
    if (key == "tls_server_config") {
      if (!v.IsMap()) fail(path, k.Mark(), key, "expected a map with cert_file and key_file");
      for (const auto& tkv : v) {
        const YAML::Node tk = tkv.first, tv = tkv.second;
        std::string tkey = key + "." + tk.Scalar();
        if (!tv.IsScalar() || tv.Scalar().empty())
          fail(path, tk.Mark(), tkey, "expected a file path");
        if (tk.Scalar() == "cert_file") {
          wc.cert_file = resolve(path, tv.Scalar());
          check_readable(path, tk.Mark(), tkey, wc.cert_file);
        } else if (tk.Scalar() == "key_file") {
          wc.key_file = resolve(path, tv.Scalar());
          check_readable(path, tk.Mark(), tkey, wc.key_file);
        } else {
          fail(path, tk.Mark(), tkey, "not supported by kscope (supported: cert_file, key_file)");
        }
      }
      if (wc.cert_file.empty() || wc.key_file.empty())
        fail(path, k.Mark(), key, "needs both cert_file and key_file");
    } else if (key == "basic_auth_users") {
      if (!v.IsMap()) fail(path, k.Mark(), key, "expected a map of user: bcrypt hash");
      for (const auto& ukv : v) {
        const YAML::Node uk = ukv.first, uv = ukv.second;
        const std::string hash = uv.IsScalar() ? uv.Scalar() : "";
        bool bcrypt = hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") ||
                                            hash.starts_with("$2y$"));
        if (!bcrypt)
          fail(path, uk.Mark(), key + "." + uk.Scalar(),
               "expected a bcrypt hash ($2y$..., 60 characters; e.g. htpasswd -nBC 10 \"\" | tr -d "
               "':')");
        wc.users[uk.Scalar()] = hash;
      }
    } else {
      fail(path, k.Mark(), key,
           "unknown or unsupported key; kscope supports tls_server_config and basic_auth_users");
    }
  }
  return wc;
}

bool BasicAuth::check(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  std::string digest = sha256(user + ":" + password);
  {
    std::lock_guard lock(mu_);
    if (passed_.count(digest)) return true;
  }
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  const char* out = crypt_r(password.c_str(), it->second.c_str(), data.get());
  if (out == nullptr || it->second != out) return false;
  std::lock_guard lock(mu_);
  passed_.insert(digest);
  return true;
}

bool BasicAuth::check_header(const char* authorization) {
  std::string_view h = authorization ? authorization : "";
  if (!h.starts_with("Basic ")) return false;
  h.remove_prefix(6);
  if (h.empty() || h.size() > 4096 || h.size() % 4 != 0) return false;
  std::string out(h.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(h.data()), static_cast<int>(h.size()));
  if (n < 0) return false;
  size_t pad = h.ends_with("==") ? 2 : h.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  auto colon = out.find(':');
  if (colon == std::string::npos) return false;
  return check(out.substr(0, colon), out.substr(colon + 1));
}

bool LiveWebConfig::Identity::operator==(const Identity& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
         ctime.tv_nsec == o.ctime.tv_nsec;
}

LiveWebConfig::Identity LiveWebConfig::identity(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};  // gone: size -1
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

LiveWebConfig::LiveWebConfig(const WebConfig& initial)
    : in_force_(initial),
      seen_(initial.source.empty() ? Identity{} : identity(initial.source)),
      auth_(std::make_shared<BasicAuth>(initial.users)) {}

std::shared_ptr<BasicAuth> LiveWebConfig::auth() {
  std::lock_guard lock(mu_);
  if (in_force_.source.empty()) return auth_;
  Identity now = identity(in_force_.source);
  if (now == seen_) return auth_;
  seen_ = now;
  try {
    WebConfig next = load_web_config(in_force_.source);
    if (next.cert_file != in_force_.cert_file || next.key_file != in_force_.key_file)
      throw ConfigError(in_force_.source +
                        ": tls_server_config: TLS settings change only on restart");
    if (next.users != in_force_.users) auth_ = std::make_shared<BasicAuth>(next.users);
    in_force_ = std::move(next);
    log_info("web config reloaded from " + in_force_.source);
  } catch (const ConfigError& e) {
    log_warn(std::string(e.what()) + "; keeping the last good web config");
  }
  return auth_;
}

}  // namespace kscope
