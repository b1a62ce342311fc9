// Basic auth for the tests that set up a web config: a bcrypt hash to put in
// it, and the header a client sends.
#pragma once

#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace kscope::test {

// A bcrypt hash of password at cost 4 (the lowest: tests hash often).
inline std::string bcrypt_hash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)), nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

// "Basic <base64 of user:password>": the Authorization header's value.
inline std::string basic_credentials(const std::string& user_password) {
  std::string out(4 * ((user_password.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(user_password.data()),
                          static_cast<int>(user_password.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

// "Authorization: Basic <base64 of user:password>\r\n".
inline std::string basic_auth_header(const std::string& user_password) {
  return "Authorization: " + basic_credentials(user_password) + "\r\n";
}

}  // namespace kscope::test
