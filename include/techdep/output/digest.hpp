#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace techdep {

/// SHA-256 of bytes handed over piece by piece: a large output hashed as it is written instead
/// of read back afterwards.
class Sha256Stream {
 public:
  Sha256Stream();  ///< Throws Error when OpenSSL cannot set up the digest.
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void update(std::string_view bytes);
  /// Lower-case hex of everything handed over; call once, at the end.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);
/// Lower-case hex SHA-256 of a file's contents. Throws IoError when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace techdep
