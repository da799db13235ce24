#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace techdep {

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);
/// Lower-case hex SHA-256 of a file's contents. Throws IoError when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace techdep
