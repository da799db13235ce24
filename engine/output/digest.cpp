#include "techdep/output/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

struct Sha256Stream::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> handle{EVP_MD_CTX_new(),
                                                                 &EVP_MD_CTX_free};
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  if (!context_->handle ||
      EVP_DigestInit_ex(context_->handle.get(), EVP_sha256(), nullptr) != 1) {
    throw Error("sha256: cannot initialise OpenSSL digest");
  }
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::update(std::string_view bytes) {
  EVP_DigestUpdate(context_->handle.get(), bytes.data(), bytes.size());
}

std::string Sha256Stream::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->handle.get(), digest.data(), &length);
  std::string text;
  for (unsigned int index = 0; index < length; ++index) {
    fmt::format_to(std::back_inserter(text), "{:02x}", digest[index]);
  }
  return text;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256Stream digest;
  digest.update(bytes);
  return digest.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  if (!file) throw IoError(fmt::format("{}: cannot read", path.string()));
  Sha256Stream digest;
  std::array<char, 1 << 16> chunk{};
  std::size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0) {
    digest.update(std::string_view(chunk.data(), got));
  }
  if (std::ferror(file.get()) != 0) throw IoError(fmt::format("{}: cannot read", path.string()));
  return digest.hex();
}

}  // namespace techdep
