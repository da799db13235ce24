#pragma once

#include <string_view>

namespace techdep {

/// What `techdep --version` and every manifest report about the binary.
struct BuildInfo {
  std::string_view version;     ///< from project(VERSION) in CMakeLists.txt
  std::string_view git_commit;  ///< `git describe --always --dirty`, or "unknown" outside git
  bool dirty;
  std::string_view build_type;
  std::string_view compiler;
  std::string_view libraries;   ///< versions of the libraries it was built with (CMake's finds)
};

const BuildInfo& build_info();

}  // namespace techdep
