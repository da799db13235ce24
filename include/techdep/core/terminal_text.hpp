#pragma once
// Text that quotes user input (names, paths, file lines) on its way to a terminal.

#include <string>
#include <string_view>

namespace techdep {

/// `text` safe to print on a terminal: control bytes (C0 but newline and tab, DEL, NUL, and the
/// UTF-8 C1 controls) become visible `\xNN` / `\u00NN` escapes, so a hostile name cannot set
/// the window title, clear the screen or cut a message short.
std::string escape_control_bytes(std::string_view text);

}  // namespace techdep
