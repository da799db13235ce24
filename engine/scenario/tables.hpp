#pragma once
// Inputs a scenario names besides YAML: CSV tables (inlined into the tree, each cell keeping its
// csv file:line:col) and the facts file that `source:` ids must name.

#include <string>
#include <vector>

#include "scenario/checker.hpp"

namespace techdep::detail {

/// Reads `tables.supply` and `tables.inputs`, inserts their rows into `supply` and
/// `sectors.<s>.inputs`, and removes `tables` from `root`.
void inline_tables(Node& root, Diagnostics& diagnostics, std::vector<std::string>& input_files);

/// Reads the file named by `facts:` (if any). `path_out` receives its path as read.
FactsIndex load_facts(const Node& root, Diagnostics& diagnostics,
                      std::vector<std::string>& input_files, std::string& path_out);

}  // namespace techdep::detail
