#include "techdep/output/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

namespace {

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
      throw Error("sha256: cannot initialise OpenSSL digest");
    }
  }
  void update(const void* data, std::size_t size) {
    EVP_DigestUpdate(context_.get(), data, size);
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &length);
    std::string text;
    for (unsigned int index = 0; index < length; ++index) {
      fmt::format_to(std::back_inserter(text), "{:02x}", digest[index]);
    }
    return text;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 digest;
  digest.update(bytes.data(), bytes.size());
  return digest.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  if (!file) throw IoError(fmt::format("{}: cannot read", path.string()));
  Sha256 digest;
  std::array<char, 1 << 16> chunk{};
  std::size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0) {
    digest.update(chunk.data(), got);
  }
  if (std::ferror(file.get()) != 0) throw IoError(fmt::format("{}: cannot read", path.string()));
  return digest.hex();
}

}  // namespace techdep
