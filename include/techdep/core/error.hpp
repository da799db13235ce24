#pragma once
// Error types shared by every module. The library throws; only engine/cli/main.cpp maps
// them to exit codes (docs/architecture.md).

#include <stdexcept>
#include <string>
#include <vector>

namespace techdep {

/// A 1-based position in an input file. `line == 0` means "the whole file".
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

/// Base of every error the library raises on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One problem found in an input, with where it is and what was expected.
struct Diagnostic {
  SourceLocation where;
  std::string key_path;   ///< e.g. `events[3].sectors[1]`; empty for file-level problems
  std::string kind;       ///< stable machine name of the error kind, e.g. `unknown-key`
  std::string message;    ///< `<subject>: <problem>`, naming the value and what was expected
  std::string source_line;///< the offending line of the file, for the caret display (may be empty)
};

/// Formats one diagnostic like a compiler: `file:line:col: error: message`, the source line and a
/// caret under the column.
std::string format_diagnostic(const Diagnostic& diagnostic);

/// A scenario (or facts file, or --set override) that fails validation. Carries every problem
/// found, not only the first. Exit code 3.
class ScenarioError : public Error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// Reading an input or writing an output failed (missing file, full disk). Exit code 5.
class IoError : public Error {
 public:
  using Error::Error;
};

/// The model reached an invalid state (a broken invariant, a non-finite value). Exit code 1.
class NumericalError : public Error {
 public:
  using Error::Error;
};

/// A request the command line cannot serve (bad flag combination found after parsing). Exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace techdep
