#include "techdep/core/error.hpp"

#include <fmt/format.h>

namespace techdep {

namespace {

std::string join_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& diagnostic : diagnostics) {
    if (!text.empty()) text += '\n';
    text += format_diagnostic(diagnostic);
  }
  return text;
}

}  // namespace

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string text;
  const SourceLocation& where = diagnostic.where;
  if (where.line > 0) {
    text = fmt::format("{}:{}:{}: error: {}", where.file, where.line, where.column,
                       diagnostic.message);
  } else if (!where.file.empty()) {
    text = fmt::format("{}: error: {}", where.file, diagnostic.message);
  } else {
    text = fmt::format("error: {}", diagnostic.message);
  }
  if (where.line > 0 && !diagnostic.source_line.empty()) {
    const std::string gutter = fmt::format("{:>6}", where.line);
    text += fmt::format("\n{} | {}\n{:>6} | {:>{}}", gutter, diagnostic.source_line, "", "^",
                        where.column > 0 ? where.column : 1);
  }
  return text;
}

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : Error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace techdep
