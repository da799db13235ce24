#pragma once
// Inputs a scenario names besides YAML: CSV tables (inlined into the tree, each cell keeping its
// csv file:line:col) and the facts file that `source:` ids must name.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/checker.hpp"

namespace techdep::detail {

/// One field of a CSV line and its 1-based column.
struct CsvField {
  std::string text;
  int column = 1;
};

/// One field of a CSV line without a copy: its text lies in the file's buffer (or, for a quoted
/// field with doubled quotes, in a string the caller keeps), and its 1-based column.
struct CsvCell {
  std::string_view text;
  int column = 1;
};

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines); fields are trimmed. `cells` is
/// cleared first; the unquoted text of a field with doubled quotes is appended to `unescaped`
/// (a deque, so earlier fields stay where they are).
void split_csv_cells(std::string_view line, std::vector<CsvCell>& cells,
                     std::deque<std::string>& unescaped);

/// The same, copying each field.
std::vector<CsvField> split_csv_line(const std::string& line);

/// Reads a file another input names (at `named_at`, under `key_path`); null after reporting a
/// missing, unreadable or too large file.
std::shared_ptr<const SourceText> read_text_file(const std::string& path, const Loc& named_at,
                                                 std::string_view key_path,
                                                 Diagnostics& diagnostics);

/// The rows of `tables.supply` that belong in the tree as `supply.<buyer>.<sector>.<origin>`,
/// kept outside it: a 400,000-row table costs a few dozen bytes a row here instead of a node and
/// a map entry per cell. The rows are exactly those the tree would receive (rows the inline
/// checks refuse are reported and left out), grouped as the tree would hold them.
struct SupplyTable {
  struct Row {
    int line = 0;
    std::uint32_t origin = 0;  ///< index into `origins`
    CsvCell origin_cell;
    CsvCell share;
  };
  /// One (buyer, sector) map of the tree, in the order the tree would create them.
  struct Group {
    CsvCell buyer;
    CsvCell sector;
    int line = 0;  ///< of its first row, where the tree's map would be located
    std::size_t begin = 0, end = 0;  ///< its rows in `rows`, in file order
  };

  std::shared_ptr<const SourceText> source;
  std::deque<std::string> unescaped;  ///< texts the cells of quoted fields point into
  std::vector<std::string_view> origins;  ///< distinct origin texts, in first-seen order
  std::vector<Row> rows;
  std::vector<Group> groups;

  SupplyTable() = default;
  // The cells point into `unescaped`: a moved deque keeps its elements where they are, a copy
  // would not.
  SupplyTable(SupplyTable&&) = default;
  SupplyTable& operator=(SupplyTable&&) = default;
  SupplyTable(const SupplyTable&) = delete;
  SupplyTable& operator=(const SupplyTable&) = delete;
  ~SupplyTable() = default;

  bool empty() const { return groups.empty(); }
};

/// Reads `tables.supply` and `tables.inputs` and removes `tables` from `root`. The inputs rows are
/// inserted into `sectors.<s>.inputs`. The supply rows go into `supply` too, unless
/// `supply_out` is given: then `root` only gets the (possibly empty) `supply` map and the rows
/// land in `*supply_out`, to be read by build_spec or put into a tree by insert_supply_rows.
void inline_tables(Node& root, Diagnostics& diagnostics, std::vector<std::string>& input_files,
                   SupplyTable* supply_out = nullptr);

/// Puts the rows of `table` into `root` as inline_tables without `supply_out` would have; `root`
/// is one inline_tables(..., &table) left, or a copy of it.
void insert_supply_rows(Node& root, const SupplyTable& table);

/// Writes `root` as emit_yaml would write it after insert_supply_rows(root, table), without
/// building the nodes.
std::string emit_yaml_with_supply(const Node& root, const SupplyTable& table);

/// Reads the file named by `facts:` (if any). `path_out` receives its path as read.
FactsIndex load_facts(const Node& root, Diagnostics& diagnostics,
                      std::vector<std::string>& input_files, std::string& path_out);

}  // namespace techdep::detail
