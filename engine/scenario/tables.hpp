#pragma once
// Inputs a scenario names besides YAML: CSV tables (inlined into the tree, each cell keeping its
// csv file:line:col) and the facts file that `source:` ids must name.

#include <string>
#include <vector>

#include "scenario/checker.hpp"

namespace techdep::detail {

/// One field of a CSV line and its 1-based column.
struct CsvField {
  std::string text;
  int column = 1;
};

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines); fields are trimmed.
std::vector<CsvField> split_csv_line(const std::string& line);

/// Reads a file another input names (at `named_at`, under `key_path`); null after reporting a
/// missing, unreadable or too large file.
std::shared_ptr<const SourceText> read_text_file(const std::string& path, const Loc& named_at,
                                                 std::string_view key_path,
                                                 Diagnostics& diagnostics);

/// Reads `tables.supply` and `tables.inputs`, inserts their rows into `supply` and
/// `sectors.<s>.inputs`, and removes `tables` from `root`.
void inline_tables(Node& root, Diagnostics& diagnostics, std::vector<std::string>& input_files);

/// Reads the file named by `facts:` (if any). `path_out` receives its path as read.
FactsIndex load_facts(const Node& root, Diagnostics& diagnostics,
                      std::vector<std::string>& input_files, std::string& path_out);

}  // namespace techdep::detail
