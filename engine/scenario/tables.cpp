#include "scenario/tables.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "scenario/merge.hpp"

namespace techdep::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxCsvBytes = std::size_t{64} << 20;

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

}  // namespace

void split_csv_cells(std::string_view line, std::vector<CsvCell>& cells,
                     std::deque<std::string>& unescaped) {
  cells.clear();
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && line[i] == ' ') ++i;
    CsvCell cell;
    cell.column = static_cast<int>(i) + 1;
    if (i < line.size() && line[i] == '"') {
      const std::size_t begin = ++i;
      // Most quoted fields hold no doubled quote: their text is a slice of the line.
      while (i < line.size() && line[i] != '"') ++i;
      if (i + 1 < line.size() && line[i + 1] == '"') {
        std::string& text = unescaped.emplace_back(line.substr(begin, i - begin));
        while (i < line.size()) {
          if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            text += '"';
            i += 2;
          } else if (line[i] == '"') {
            ++i;
            break;
          } else {
            text += line[i++];
          }
        }
        cell.text = text;
      } else {
        cell.text = line.substr(begin, i - begin);
        if (i < line.size()) ++i;  // the closing quote
      }
      while (i < line.size() && line[i] != ',') ++i;
    } else {
      const std::size_t comma = line.find(',', i);
      const std::size_t stop = comma == std::string_view::npos ? line.size() : comma;
      std::string_view text = line.substr(i, stop - i);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
      cell.text = text;
      i = stop;
    }
    cells.push_back(cell);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
}

std::vector<CsvField> split_csv_line(const std::string& line) {
  std::vector<CsvCell> cells;
  std::deque<std::string> unescaped;
  split_csv_cells(line, cells, unescaped);
  std::vector<CsvField> fields;
  fields.reserve(cells.size());
  for (const CsvCell& cell : cells) fields.push_back(CsvField{std::string(cell.text), cell.column});
  return fields;
}

namespace {

/// Reads a CSV table whose header must equal `header`, calling `on_row(line_number, cells)` for
/// each data row. Rows with the wrong number of fields are reported and skipped. False (after
/// reporting) when the header is wrong or missing. Lines are sliced from the file's text, never
/// copied.
template <typename OnRow>
bool read_csv(const SourceText& source, const std::shared_ptr<const SourceText>& source_ptr,
              const std::vector<std::string_view>& header, std::deque<std::string>& unescaped,
              Diagnostics& diagnostics, OnRow&& on_row) {
  const std::string_view text = source.text;
  std::vector<CsvCell> cells;
  int number = 0;
  bool have_header = false;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t newline = text.find('\n', at);
    const std::size_t stop = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(at, stop - at);
    at = stop + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Spreadsheets save CSV with a UTF-8 byte-order mark: it is not part of the first name.
    if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (is_blank(line)) continue;
    split_csv_cells(line, cells, unescaped);
    if (!have_header) {
      have_header = true;
      const bool matches = cells.size() == header.size() &&
                           std::equal(cells.begin(), cells.end(), header.begin(),
                                      [](const CsvCell& cell, std::string_view name) {
                                        return cell.text == name;
                                      });
      if (!matches) {
        diagnostics.add("csv-format", Loc{source_ptr, number, 1}, "",
                        fmt::format("csv header: expected '{}', got '{}'", fmt::join(header, ","),
                                    line));
        return false;
      }
      continue;
    }
    if (cells.size() != header.size()) {
      diagnostics.add("csv-format", Loc{source_ptr, number, 1}, "",
                      fmt::format("csv row: {} fields, expected {} ({})", cells.size(),
                                  header.size(), fmt::join(header, ",")));
      continue;
    }
    on_row(number, cells);
  }
  if (!have_header) {
    diagnostics.add("csv-format", Loc{source_ptr, 1, 1}, "",
                    fmt::format("csv: empty file, expected the header '{}'", fmt::join(header, ",")));
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<const SourceText> read_text_file(const std::string& path, const Loc& named_at,
                                                 std::string_view key_path,
                                                 Diagnostics& diagnostics) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    diagnostics.add("missing-file", named_at, std::string(key_path),
                    fmt::format("{}: cannot read '{}': {}", key_path, path,
                                fs::exists(path, error) ? "not a regular file" : "no such file"));
    return nullptr;
  }
  const auto size = fs::file_size(path, error);
  if (!error && size > kMaxCsvBytes) {
    diagnostics.add("file-too-large", named_at, std::string(key_path),
                    fmt::format("{}: '{}' is larger than {} MiB", key_path, path,
                                kMaxCsvBytes >> 20));
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text;
  if (!error) text.reserve(static_cast<std::size_t>(size));
  std::array<char, 1 << 16> chunk{};
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad() || !in.eof()) {
    diagnostics.add("missing-file", named_at, std::string(key_path),
                    fmt::format("{}: cannot read '{}'", key_path, path));
    return nullptr;
  }
  return std::make_shared<const SourceText>(path, std::move(text));
}

namespace {

NodePtr scalar_node(const CsvCell& cell, const std::shared_ptr<const SourceText>& source,
                    int line) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::Scalar;
  node->text = cell.text;
  node->loc = Loc{source, line, cell.column};
  return node;
}

/// A new empty map entry of `map`; its node.
Node* add_map(Node& map, std::string_view key, const Loc& loc) {
  auto created = std::make_shared<Node>();
  created->kind = Node::Kind::Map;
  created->loc = loc;
  map.entries.push_back(MapEntry{std::string(key), loc, created});
  return created.get();
}

/// The map under `key`, created when absent. Null when `key` holds something else.
Node* child_map(Node& map, std::string_view key, const Loc& loc) {
  if (MapEntry* entry = map.find(key)) return entry->value->is_map() ? entry->value.get() : nullptr;
  return add_map(map, key, loc);
}

std::string resolve(const Node& path_node) {
  const fs::path path(path_node.text);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(directory_of(path_node.loc)) / path).lexically_normal().string();
}

/// Small dense numbers for the distinct texts of a column, so that rows compare numbers.
class Interner {
 public:
  std::uint32_t id(std::string_view text, bool& added) {
    const auto [found, inserted] = ids_.try_emplace(text, static_cast<std::uint32_t>(texts_.size()));
    added = inserted;
    if (inserted) texts_.push_back(text);
    return found->second;
  }
  const std::vector<std::string_view>& texts() const { return texts_; }

 private:
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::vector<std::string_view> texts_;
};

/// A diagnostic of the inline checks, held until the csv's own ones are all reported (the
/// order they had when the table was read first and inlined after).
struct PendingDiagnostic {
  int line = 0;
  std::string kind;
  Loc where;
  std::string key_path;
  std::string message;
};

/// Reads `tables.supply` into `table`, applying the checks of inlining a row into the tree: a
/// (buyer, sector) row already in the scenario, an origin given twice in one row. Leaves `root`
/// with a `supply` map (created when absent) exactly as inlining would, minus the rows.
void read_supply_table(Node& root, const Node& path_node, Diagnostics& diagnostics,
                       std::vector<std::string>& input_files, SupplyTable& table) {
  const std::string path = resolve(path_node);
  input_files.push_back(path);
  const auto source = read_text_file(path, path_node.loc, "tables.supply", diagnostics);
  if (!source) return;
  table.source = source;

  // What the scenario itself holds under `supply` decides where rows may go: a buyer whose value
  // is not a map takes no rows (validation reports its type), nor does a `supply` that is not.
  const MapEntry* supply_entry = root.find("supply");
  const Node* yaml_supply = supply_entry != nullptr ? supply_entry->value.get() : nullptr;
  const bool supply_takes_rows = yaml_supply == nullptr || yaml_supply->is_map();

  struct Buyer {
    const Node* yaml = nullptr;  ///< the scenario's own map for this buyer, if any
    bool takes_rows = true;
  };
  Interner buyer_ids;
  Interner sector_ids;
  Interner origin_ids;
  std::vector<Buyer> buyers;
  std::unordered_map<std::uint64_t, std::uint32_t> group_of;
  std::vector<std::uint32_t> row_group;  // parallel to table.rows until they are ordered
  std::vector<PendingDiagnostic> pending;
  std::string_view last_buyer;
  std::string_view last_sector;
  std::uint32_t last_group = 0;
  bool have_last = false;

  // One row a line at most: reserving spares the copies of growing a 400,000-row vector.
  table.rows.reserve(source->line_starts.size());
  row_group.reserve(source->line_starts.size());
  const auto on_row = [&](int line, const std::vector<CsvCell>& cells) {
    if (!supply_takes_rows) return;
    const CsvCell& buyer = cells[0];
    const CsvCell& sector = cells[1];
    // Tables usually list a row's origins together: the last group is the likely one.
    if (!have_last || buyer.text != last_buyer || sector.text != last_sector) {
      have_last = false;
      bool added = false;
      const std::uint32_t buyer_id = buyer_ids.id(buyer.text, added);
      if (added) {
        Buyer& info = buyers.emplace_back();
        if (const MapEntry* given = yaml_supply != nullptr ? yaml_supply->find(buyer.text) : nullptr) {
          info.takes_rows = given->value->is_map();
          info.yaml = info.takes_rows ? given->value.get() : nullptr;
        }
      }
      const Buyer& info = buyers[buyer_id];
      if (info.yaml != nullptr && info.yaml->find(sector.text) != nullptr) {
        const std::string key_path = fmt::format("supply.{}.{}", buyer.text, sector.text);
        pending.push_back(PendingDiagnostic{
            line, "duplicate-key", Loc{source, line, buyer.column}, key_path,
            fmt::format("{}: row given both in the scenario and in the csv table", key_path)});
        return;
      }
      if (!info.takes_rows) return;
      const std::uint64_t key = (std::uint64_t{buyer_id} << 32) | sector_ids.id(sector.text, added);
      const auto [found, inserted] =
          group_of.try_emplace(key, static_cast<std::uint32_t>(table.groups.size()));
      if (inserted) table.groups.push_back(SupplyTable::Group{buyer, sector, line, 0, 0});
      have_last = true;
      last_group = found->second;
      last_buyer = buyer.text;
      last_sector = sector.text;
    }
    bool added = false;
    const std::uint32_t origin = origin_ids.id(cells[2].text, added);
    table.rows.push_back(SupplyTable::Row{line, origin, cells[2], cells[3]});
    row_group.push_back(last_group);
  };
  if (!read_csv(*source, source, {"buyer", "sector", "origin", "share"}, table.unescaped,
                diagnostics, on_row)) {
    table.rows.clear();
    table.groups.clear();
    return;
  }
  if (!supply_takes_rows) return;
  if (yaml_supply == nullptr) child_map(root, "supply", path_node.loc);

  // Order the rows by group, keeping file order within each (a counting sort), unless they are
  // already: then each group's rows are as the tree would list them.
  if (!std::is_sorted(row_group.begin(), row_group.end())) {
    std::vector<std::size_t> start(table.groups.size() + 1, 0);
    for (const std::uint32_t group : row_group) ++start[group + 1];
    for (std::size_t g = 0; g < table.groups.size(); ++g) start[g + 1] += start[g];
    std::vector<SupplyTable::Row> ordered(table.rows.size());
    std::vector<std::uint32_t> ordered_group(table.rows.size());
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      const std::size_t slot = start[row_group[r]]++;
      ordered[slot] = table.rows[r];
      ordered_group[slot] = row_group[r];
    }
    table.rows = std::move(ordered);
    row_group = std::move(ordered_group);
  }

  // An origin given twice in one row: the later one is reported and left out, as the tree would.
  constexpr std::uint32_t kNone = ~std::uint32_t{0};
  std::vector<std::uint32_t> seen_in(origin_ids.texts().size(), kNone);
  std::vector<int> seen_line(origin_ids.texts().size(), 0);
  std::size_t kept = 0;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const SupplyTable::Row& row = table.rows[r];
    const std::uint32_t group = row_group[r];
    SupplyTable::Group& info = table.groups[group];
    if (kept == 0 || row_group[r] != row_group[r - 1]) info.begin = kept;
    if (seen_in[row.origin] == group) {
      const std::string key_path = fmt::format("supply.{}.{}", info.buyer.text, info.sector.text);
      pending.push_back(PendingDiagnostic{
          row.line, "duplicate-key", Loc{source, row.line, row.origin_cell.column},
          join_path(key_path, row.origin_cell.text),
          fmt::format("duplicate key '{}' in {} (first given at line {})", row.origin_cell.text,
                      key_path, seen_line[row.origin])});
    } else {
      seen_in[row.origin] = group;
      seen_line[row.origin] = row.line;
      table.rows[kept++] = row;
    }
    info.end = kept;
  }
  table.rows.resize(kept);
  table.origins = origin_ids.texts();

  std::stable_sort(pending.begin(), pending.end(),
                   [](const PendingDiagnostic& a, const PendingDiagnostic& b) { return a.line < b.line; });
  for (PendingDiagnostic& item : pending) {
    diagnostics.add(std::move(item.kind), item.where, std::move(item.key_path),
                    std::move(item.message));
  }
}

void inline_inputs(Node& root, const Node& path_node, Diagnostics& diagnostics,
                   std::vector<std::string>& input_files) {
  const std::string path = resolve(path_node);
  input_files.push_back(path);
  const auto source = read_text_file(path, path_node.loc, "tables.inputs", diagnostics);
  if (!source) return;
  struct InputRow {
    int line;
    CsvCell input, sector, coefficient;
  };
  std::vector<InputRow> rows;
  std::deque<std::string> unescaped;
  if (!read_csv(*source, source, {"input", "sector", "coefficient"}, unescaped, diagnostics,
                [&](int line, const std::vector<CsvCell>& cells) {
                  rows.push_back(InputRow{line, cells[0], cells[1], cells[2]});
                })) {
    return;
  }
  MapEntry* sectors = root.find("sectors");
  if (sectors == nullptr || !sectors->value->is_map()) return;
  std::vector<std::string> sector_ids;
  for (const MapEntry& entry : sectors->value->entries) sector_ids.push_back(entry.key);
  for (const InputRow& row : rows) {
    const CsvCell& input = row.input;
    const CsvCell& sector = row.sector;
    const std::string key_path = fmt::format("sectors.{}.inputs", sector.text);
    MapEntry* sector_entry = sectors->value->find(sector.text);
    if (sector_entry == nullptr) {
      diagnostics.add("unknown-reference", Loc{source, row.line, sector.column}, key_path,
                      fmt::format("{}: unknown sector '{}'{}", key_path, sector.text,
                                  did_you_mean(sector.text, sector_ids)));
      continue;
    }
    if (!sector_entry->value->is_map()) continue;
    Node* inputs = child_map(*sector_entry->value, "inputs", Loc{source, row.line, 1});
    if (inputs == nullptr) continue;
    if (const MapEntry* first = inputs->find(input.text)) {
      diagnostics.add("duplicate-key", Loc{source, row.line, input.column},
                      join_path(key_path, input.text),
                      fmt::format("duplicate key '{}' in {} (first given in {}:{})", input.text,
                                  key_path, first->key_loc.source ? first->key_loc.source->name : "",
                                  first->key_loc.line));
      continue;
    }
    inputs->entries.push_back(MapEntry{std::string(input.text), Loc{source, row.line, input.column},
                                       scalar_node(row.coefficient, source, row.line)});
  }
}

}  // namespace

void inline_tables(Node& root, Diagnostics& diagnostics, std::vector<std::string>& input_files,
                   SupplyTable* supply_out) {
  if (!root.is_map()) return;
  MapEntry* tables = root.find("tables");
  if (tables == nullptr) return;
  const NodePtr table_map = tables->value;
  root.entries.erase(root.entries.begin() + (tables - root.entries.data()));
  if (table_map->is_null()) return;
  if (!table_map->is_map()) {
    diagnostics.add("wrong-type", table_map->loc, "tables",
                    fmt::format("tables: expected a map, got {}", table_map->describe()));
    return;
  }
  FactsIndex no_facts;
  Checker checker(diagnostics, no_facts);
  checker.check_keys(*table_map, kTablesObject, "tables");
  const Node* supply = Checker::value_of(*table_map, "supply");
  const Node* inputs = Checker::value_of(*table_map, "inputs");
  if (supply != nullptr && checker.text(*supply, "tables.supply")) {
    SupplyTable local;
    SupplyTable& table = supply_out != nullptr ? *supply_out : local;
    read_supply_table(root, *supply, diagnostics, input_files, table);
    if (supply_out == nullptr) insert_supply_rows(root, table);
  }
  if (inputs != nullptr && checker.text(*inputs, "tables.inputs")) {
    inline_inputs(root, *inputs, diagnostics, input_files);
  }
}

void insert_supply_rows(Node& root, const SupplyTable& table) {
  if (table.empty()) return;
  MapEntry* supply_entry = root.find("supply");
  if (supply_entry == nullptr || !supply_entry->value->is_map()) return;
  Node& supply = *supply_entry->value;
  std::unordered_map<std::string_view, Node*> buyer_maps;
  for (const SupplyTable::Group& group : table.groups) {
    auto [slot, added] = buyer_maps.try_emplace(group.buyer.text, nullptr);
    if (added) slot->second = child_map(supply, group.buyer.text, Loc{table.source, group.line, group.buyer.column});
    Node* sector_map = add_map(*slot->second, group.sector.text,
                               Loc{table.source, group.line, group.sector.column});
    sector_map->entries.reserve(group.end - group.begin);
    for (std::size_t r = group.begin; r < group.end; ++r) {
      const SupplyTable::Row& row = table.rows[r];
      sector_map->entries.push_back(MapEntry{std::string(row.origin_cell.text),
                                             Loc{table.source, row.line, row.origin_cell.column},
                                             scalar_node(row.share, table.source, row.line)});
    }
  }
}

std::string emit_yaml_with_supply(const Node& root, const SupplyTable& table) {
  const MapEntry* supply_entry = root.find("supply");
  if (table.empty() || supply_entry == nullptr || !supply_entry->value->is_map()) {
    return emit_yaml(root);
  }
  // Each buyer's groups, and the buyers the scenario itself does not list, in creation order.
  std::unordered_map<std::string_view, std::size_t> buyer_slot;
  std::vector<std::vector<std::size_t>> groups_of;
  std::vector<std::string_view> buyer_order;
  for (std::size_t g = 0; g < table.groups.size(); ++g) {
    const auto [slot, added] = buyer_slot.try_emplace(table.groups[g].buyer.text, groups_of.size());
    if (added) {
      groups_of.emplace_back();
      buyer_order.push_back(table.groups[g].buyer.text);
    }
    groups_of[slot->second].push_back(g);
  }
  std::vector<std::string> origin_keys(table.origins.size());
  for (std::size_t o = 0; o < table.origins.size(); ++o) {
    origin_keys[o].assign(6, ' ');
    append_yaml_key(origin_keys[o], table.origins[o]);
    origin_keys[o] += ": ";
  }
  std::string out;
  out.reserve(table.source->text.size() + 4096);
  const auto emit_groups = [&](std::size_t slot) {
    for (const std::size_t g : groups_of[slot]) {
      const SupplyTable::Group& group = table.groups[g];
      out += "    ";
      append_yaml_key(out, group.sector.text);
      out += ":\n";
      for (std::size_t r = group.begin; r < group.end; ++r) {
        const SupplyTable::Row& row = table.rows[r];
        out += origin_keys[row.origin];
        append_yaml_scalar(out, row.share.text, false);
        out += '\n';
      }
    }
  };
  for (const MapEntry& entry : root.entries) {
    if (&entry != supply_entry) {
      emit_yaml_entry(entry, 0, out);
      continue;
    }
    append_yaml_key(out, entry.key);
    out += ":\n";
    std::vector<bool> listed(groups_of.size(), false);
    for (const MapEntry& buyer : entry.value->entries) {
      const auto slot = buyer.value->is_map() ? buyer_slot.find(buyer.key) : buyer_slot.end();
      if (slot == buyer_slot.end()) {
        emit_yaml_entry(buyer, 2, out);
        continue;
      }
      listed[slot->second] = true;
      out += "  ";
      append_yaml_key(out, buyer.key);
      out += ":\n";
      for (const MapEntry& sector : buyer.value->entries) emit_yaml_entry(sector, 4, out);
      emit_groups(slot->second);
    }
    for (std::size_t slot = 0; slot < groups_of.size(); ++slot) {
      if (listed[slot]) continue;
      out += "  ";
      append_yaml_key(out, buyer_order[slot]);
      out += ":\n";
      emit_groups(slot);
    }
  }
  return out;
}

FactsIndex load_facts(const Node& root, Diagnostics& diagnostics,
                      std::vector<std::string>& input_files, std::string& path_out) {
  FactsIndex facts;
  const Node* named = root.is_map() ? Checker::value_of(root, "facts") : nullptr;
  if (named == nullptr) return facts;
  facts.declared = true;
  FactsIndex none;
  Checker checker(diagnostics, none);
  if (!checker.text(*named, "facts")) return facts;
  path_out = resolve(*named);
  std::error_code error;
  if (!fs::is_regular_file(path_out, error)) {
    diagnostics.add("missing-file", named->loc, "facts",
                    fmt::format("facts: cannot read '{}': {}", path_out,
                                fs::exists(path_out, error) ? "not a regular file"
                                                            : "no such file"));
    facts.unchecked = true;
    return facts;
  }
  input_files.push_back(path_out);
  const NodePtr document = parse_yaml_file(path_out, diagnostics);
  if (!document || !checker.expect_map(*document, "")) {
    facts.unchecked = true;
    return facts;
  }
  checker.check_keys(*document, kFactsFileObject, "");
  if (const Node* version = Checker::value_of(*document, "schema_version")) {
    const auto value = checker.integer(*version, "schema_version", kAnyNumber);
    if (value && *value != kSchemaVersion) {
      diagnostics.add("unsupported-schema-version", version->loc, "schema_version",
                      fmt::format("schema_version: {} is not supported, expected {}", *value,
                                  kSchemaVersion));
    }
  }
  const Node* list = Checker::value_of(*document, "facts");
  if (list == nullptr || !checker.expect_list(*list, "facts")) return facts;
  std::map<std::string, std::size_t> first_index;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const Node& fact = *list->items[i];
    const std::string path = index_path("facts", i);
    if (!checker.expect_map(fact, path)) continue;
    checker.check_keys(fact, kFactObject, path);
    if (const Node* source = Checker::value_of(fact, "source"); source && source->is_map()) {
      checker.check_keys(*source, *kFactObject.find("source")->object, join_path(path, "source"));
    }
    const Node* id = Checker::value_of(fact, "id");
    if (id == nullptr) continue;
    const auto text = checker.text(*id, join_path(path, "id"));
    if (!text) continue;
    if (!first_index.emplace(*text, i).second) {
      diagnostics.add("duplicate-id", id->loc, join_path(path, "id"),
                      fmt::format("{}.id: duplicate fact id '{}' (first used by facts[{}])", path,
                                  *text, first_index[*text]));
    }
    facts.ids.insert(*text);
  }
  return facts;
}

}  // namespace techdep::detail
