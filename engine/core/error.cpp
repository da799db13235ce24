#include "techdep/core/error.hpp"
#include "techdep/core/terminal_text.hpp"

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

std::string escape_control_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7F) {
      out += fmt::format("\\x{:02x}", byte);
    } else if (byte == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {

std::size_t count_characters(std::string_view text) {
  std::size_t count = 0;
  for (const char ch : text) count += (static_cast<unsigned char>(ch) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

/// The first `characters` UTF-8 characters of `text`.
std::string_view leading_characters(std::string_view text, int characters) {
  std::size_t byte = 0;
  for (int seen = 0; byte < text.size(); ++byte) {
    if ((static_cast<unsigned char>(text[byte]) & 0xC0) != 0x80 && seen++ == characters) break;
  }
  return text.substr(0, byte);
}

}  // namespace

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string text;
  const SourceLocation& where = diagnostic.where;
  const std::string file = escape_control_bytes(where.file);
  const std::string message = escape_control_bytes(diagnostic.message);
  if (where.line > 0) {
    text = fmt::format("{}:{}:{}: error: {}", file, where.line, where.column, message);
  } else if (!where.file.empty()) {
    text = fmt::format("{}: error: {}", file, message);
  } else {
    text = fmt::format("error: {}", message);
  }
  if (where.line > 0 && !diagnostic.source_line.empty()) {
    const std::string gutter = fmt::format("{:>6}", where.line);
    // The caret goes under the character, counted in the line as printed (escapes widen it).
    const std::size_t caret =
        count_characters(escape_control_bytes(
            leading_characters(diagnostic.source_line, where.column > 1 ? where.column - 1 : 0))) +
        1;
    text += fmt::format("\n{} | {}\n{:>6} | {:>{}}", gutter,
                        escape_control_bytes(diagnostic.source_line), "", "^", caret);
  }
  return text;
}

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : Error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace techdep
