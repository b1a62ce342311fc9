// --web.config.file: parsing, errors with file:line, bcrypt basic auth.
#include "web_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "auth_util.h"
#include "config.h"

namespace kscope {
namespace {

namespace fs = std::filesystem;

using test::basic_credentials;
using test::bcrypt_hash;

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kscope-webcfg-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "cert.pem") << "cert\n";
    std::ofstream(dir_ / "key.pem") << "key\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& text) {
    std::ofstream(dir_ / "web.yml") << text;
    return (dir_ / "web.yml").string();
  }
  std::string error_of(const std::string& text) {
    try {
      load_web_config(write(text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(WebConfigTest, ReadsTlsAndUsersWithPathsRelativeToTheFile) {
  std::string hash = bcrypt_hash("secret");
  auto wc =
      load_web_config(write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                            "basic_auth_users:\n  alice: '" +
                            hash + "'\n"));
  EXPECT_EQ(wc.cert_file, (dir_ / "cert.pem").string());
  EXPECT_EQ(wc.key_file, (dir_ / "key.pem").string());
  EXPECT_TRUE(wc.tls());
  EXPECT_EQ(wc.users.at("alice"), hash);
  EXPECT_FALSE(load_web_config(write("")).tls());
}

TEST_F(WebConfigTest, RejectsBadInputWithFileLineAndKey) {
  EXPECT_NE(error_of("tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n")
                .find("web.yml:2: tls_server_config.cert_file: cannot read"),
            std::string::npos);
  EXPECT_NE(error_of("tls_server_config:\n  cert_file: cert.pem\n").find("needs both"),
            std::string::npos);
  EXPECT_NE(error_of("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                     "  client_auth_type: RequireAndVerifyClientCert\n")
                .find("web.yml:4: tls_server_config.client_auth_type: not supported"),
            std::string::npos);
  EXPECT_NE(error_of("basic_auth_users:\n  bob: plaintext\n")
                .find("web.yml:2: basic_auth_users.bob: "
                      "expected a bcrypt hash"),
            std::string::npos);
  EXPECT_NE(
      error_of("http_server_config:\n  http2: false\n").find("web.yml:1: http_server_config: "),
      std::string::npos);
  EXPECT_NE(error_of("basic_auth_users: [\n").find("invalid YAML"), std::string::npos);
  try {
    load_web_config((dir_ / "missing.yml").string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
  }
}

// Found by test/fuzz/web_config_fuzz: a key echoed raw broke the one-line
// contract.
TEST_F(WebConfigTest, KeysInMessagesStayOnOneLine) {
  std::string msg = error_of("\"a\\r\\nb\": 1\n");
  EXPECT_TRUE(
      msg.ends_with("web.yml:1: a\\x0d\\nb: unknown or unsupported key; kscope supports "
                    "tls_server_config and basic_auth_users"))
      << msg;
}

// Found by fuzzing the config loader: yaml-cpp 0.7 read a stray comma as an
// empty document and dropped the rest, so the users, and with them basic
// auth, were silently gone. So was a second document behind an empty one.
TEST_F(WebConfigTest, MalformedFileNeverDropsTheUsers) {
  const std::string users = "basic_auth_users:\n  alice: '" + bcrypt_hash("secret") + "'\n";
  EXPECT_EQ(error_of(",\n" + users).substr(dir_.string().size()),
            "/web.yml:1: invalid YAML: unexpected \",\"");
  EXPECT_EQ(load_web_config(write("---\n---\n" + users)).users.size(), 1u);
  EXPECT_EQ(error_of(users + "---\nbasic_auth_users: {}\n").substr(dir_.string().size()),
            "/web.yml:4: expected a single YAML document, found several");
}

TEST(BasicAuth, ChecksBcryptAndTheHeader) {
  BasicAuth auth({{"alice", bcrypt_hash("s3cret:with colon")}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.check("alice", "s3cret:with colon"));
  EXPECT_TRUE(auth.check("alice", "s3cret:with colon"));  // cached
  EXPECT_FALSE(auth.check("alice", "wrong"));
  EXPECT_FALSE(auth.check("mallory", "s3cret:with colon"));
  EXPECT_TRUE(auth.check_header(basic_credentials("alice:s3cret:with colon").c_str()));
  EXPECT_FALSE(auth.check_header(basic_credentials("alice:wrong").c_str()));
  EXPECT_FALSE(auth.check_header(nullptr));
  EXPECT_FALSE(auth.check_header("Bearer abc"));
  EXPECT_FALSE(auth.check_header("Basic !!!!"));
  EXPECT_FALSE(auth.check_header("Basic YWxpY2U="));  // "alice", no colon
  EXPECT_FALSE(BasicAuth({}).enabled());
}

// The file is re-read when it changes: new users apply at once; a broken
// or vanished file leaves the last good config, and TLS changes need a restart.
TEST_F(WebConfigTest, LiveConfigFollowsTheFileAndKeepsTheLastGood) {
  auto user = [](const std::string& u, const std::string& hash) {
    return "basic_auth_users:\n  " + u + ": '" + hash + "'\n";
  };
  LiveWebConfig live(load_web_config(write(user("alice", bcrypt_hash("one")))));
  auto first = live.auth();
  EXPECT_TRUE(first->check("alice", "one"));
  EXPECT_EQ(live.auth(), first) << "unchanged file: the same auth";

  write(user("bob", bcrypt_hash("two")));
  EXPECT_TRUE(live.auth()->check("bob", "two"));
  EXPECT_FALSE(live.auth()->check("alice", "one"));

  write("basic_auth_users: [not, a, map]\n");
  EXPECT_TRUE(live.auth()->check("bob", "two"));
  fs::remove(dir_ / "web.yml");
  EXPECT_TRUE(live.auth()->check("bob", "two"));
  write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n");
  EXPECT_TRUE(live.auth()->check("bob", "two")) << "TLS cannot start without a restart";

  write("");
  EXPECT_FALSE(live.auth()->enabled()) << "a valid file without users turns auth off";
}

}  // namespace
}  // namespace kscope
