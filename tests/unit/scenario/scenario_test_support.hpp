#pragma once
// Helpers shared by the scenario tests: fixture paths, temporary files, and the diagnostics of a
// load that must fail.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "techdep/core/error.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep::test {

inline std::string data_path(const std::string& name) {
  return std::string(TECHDEP_SOURCE_DIR) + "/tests/data/scenario/" + name;
}

inline std::string error_path(const std::string& name) {
  return std::string(TECHDEP_SOURCE_DIR) + "/tests/scenario_errors/" + name;
}

/// A directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("techdep-scenario-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string dir() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string target = file(name);
    std::ofstream(target, std::ios::binary) << text;
    return target;
  }

 private:
  std::filesystem::path path_;
};

/// Loads a scenario that must fail with a ScenarioError; returns its diagnostics.
inline std::vector<Diagnostic> load_errors(const std::string& path, const LoadOptions& options = {}) {
  try {
    (void)load_scenario(path, options);
  } catch (const ScenarioError& error) {
    return error.diagnostics();
  }
  FAIL("expected a ScenarioError from " << path);
  return {};
}

/// The formatted first line of a diagnostic: `file:line:col: error: message`.
inline std::string first_line(const Diagnostic& diagnostic) {
  const std::string text = format_diagnostic(diagnostic);
  return text.substr(0, text.find('\n'));
}

}  // namespace techdep::test
