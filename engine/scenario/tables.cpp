#include "scenario/tables.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "scenario/merge.hpp"

namespace techdep::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxCsvBytes = std::size_t{64} << 20;

}  // namespace

std::vector<CsvField> split_csv_line(const std::string& line) {
  std::vector<CsvField> fields;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && line[i] == ' ') ++i;
    CsvField field;
    field.column = static_cast<int>(i) + 1;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size()) {
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          field.text += '"';
          i += 2;
        } else if (line[i] == '"') {
          ++i;
          break;
        } else {
          field.text += line[i++];
        }
      }
      while (i < line.size() && line[i] != ',') ++i;
    } else {
      const std::size_t comma = line.find(',', i);
      const std::size_t stop = comma == std::string::npos ? line.size() : comma;
      field.text = line.substr(i, stop - i);
      while (!field.text.empty() && (field.text.back() == ' ' || field.text.back() == '\t')) {
        field.text.pop_back();
      }
      i = stop;
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

namespace {

struct CsvRow {
  int line = 0;
  std::vector<CsvField> fields;
};

/// Reads a CSV table whose header must equal `header`. Rows with the wrong number of fields are
/// reported and skipped.
std::optional<std::vector<CsvRow>> read_csv(const std::shared_ptr<const SourceText>& source,
                                            const std::vector<std::string>& header,
                                            Diagnostics& diagnostics) {
  std::vector<CsvRow> rows;
  std::istringstream in(source->text);
  std::string line;
  int number = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<CsvField> fields = split_csv_line(line);
    if (!have_header) {
      have_header = true;
      std::vector<std::string> names;
      for (const CsvField& field : fields) names.push_back(field.text);
      if (names != header) {
        diagnostics.add("csv-format", Loc{source, number, 1}, "",
                        fmt::format("csv header: expected '{}', got '{}'", fmt::join(header, ","),
                                    line));
        return std::nullopt;
      }
      continue;
    }
    if (fields.size() != header.size()) {
      diagnostics.add("csv-format", Loc{source, number, 1}, "",
                      fmt::format("csv row: {} fields, expected {} ({})", fields.size(),
                                  header.size(), fmt::join(header, ",")));
      continue;
    }
    rows.push_back(CsvRow{number, std::move(fields)});
  }
  if (!have_header) {
    diagnostics.add("csv-format", Loc{source, 1, 1}, "",
                    fmt::format("csv: empty file, expected the header '{}'", fmt::join(header, ",")));
    return std::nullopt;
  }
  return rows;
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
  if (fs::file_size(path, error) > kMaxCsvBytes) {
    diagnostics.add("file-too-large", named_at, std::string(key_path),
                    fmt::format("{}: '{}' is larger than {} MiB", key_path, path,
                                kMaxCsvBytes >> 20));
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    diagnostics.add("missing-file", named_at, std::string(key_path),
                    fmt::format("{}: cannot read '{}'", key_path, path));
    return nullptr;
  }
  return std::make_shared<const SourceText>(path, text.str());
}

namespace {

NodePtr scalar_node(const CsvField& field, const std::shared_ptr<const SourceText>& source,
                    int line) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::Scalar;
  node->text = field.text;
  node->loc = Loc{source, line, field.column};
  return node;
}

/// The map under `key`, created when absent. Null when `key` holds something else.
Node* child_map(Node& map, const std::string& key, const Loc& loc) {
  if (MapEntry* entry = map.find(key)) return entry->value->is_map() ? entry->value.get() : nullptr;
  auto created = std::make_shared<Node>();
  created->kind = Node::Kind::Map;
  created->loc = loc;
  map.entries.push_back(MapEntry{key, loc, created});
  return created.get();
}

std::string resolve(const Node& path_node) {
  const fs::path path(path_node.text);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(directory_of(path_node.loc)) / path).lexically_normal().string();
}

void inline_supply(Node& root, const Node& path_node, Diagnostics& diagnostics,
                   std::vector<std::string>& input_files) {
  const std::string path = resolve(path_node);
  input_files.push_back(path);
  const auto source = read_text_file(path, path_node.loc, "tables.supply", diagnostics);
  if (!source) return;
  const auto rows = read_csv(source, {"buyer", "sector", "origin", "share"}, diagnostics);
  if (!rows) return;
  Node* supply = child_map(root, "supply", path_node.loc);
  if (supply == nullptr) return;  // validation reports the wrong type of `supply`
  std::set<std::pair<std::string, std::string>> yaml_rows;
  for (const MapEntry& buyer : supply->entries) {
    if (!buyer.value->is_map()) continue;
    for (const MapEntry& sector : buyer.value->entries) yaml_rows.emplace(buyer.key, sector.key);
  }
  for (const CsvRow& row : *rows) {
    const CsvField& buyer = row.fields[0];
    const CsvField& sector = row.fields[1];
    const CsvField& origin = row.fields[2];
    const std::string key_path = fmt::format("supply.{}.{}", buyer.text, sector.text);
    if (yaml_rows.count({buyer.text, sector.text}) > 0) {
      diagnostics.add("duplicate-key", Loc{source, row.line, buyer.column}, key_path,
                      fmt::format("{}: row given both in the scenario and in the csv table",
                                  key_path));
      continue;
    }
    Node* buyer_map = child_map(*supply, buyer.text, Loc{source, row.line, buyer.column});
    Node* sector_map =
        buyer_map ? child_map(*buyer_map, sector.text, Loc{source, row.line, sector.column})
                  : nullptr;
    if (sector_map == nullptr) continue;
    if (const MapEntry* first = sector_map->find(origin.text)) {
      diagnostics.add("duplicate-key", Loc{source, row.line, origin.column},
                      join_path(key_path, origin.text),
                      fmt::format("duplicate key '{}' in {} (first given at line {})", origin.text,
                                  key_path, first->key_loc.line));
      continue;
    }
    sector_map->entries.push_back(MapEntry{origin.text, Loc{source, row.line, origin.column},
                                           scalar_node(row.fields[3], source, row.line)});
  }
}

void inline_inputs(Node& root, const Node& path_node, Diagnostics& diagnostics,
                   std::vector<std::string>& input_files) {
  const std::string path = resolve(path_node);
  input_files.push_back(path);
  const auto source = read_text_file(path, path_node.loc, "tables.inputs", diagnostics);
  if (!source) return;
  const auto rows = read_csv(source, {"input", "sector", "coefficient"}, diagnostics);
  if (!rows) return;
  MapEntry* sectors = root.find("sectors");
  if (sectors == nullptr || !sectors->value->is_map()) return;
  std::vector<std::string> sector_ids;
  for (const MapEntry& entry : sectors->value->entries) sector_ids.push_back(entry.key);
  for (const CsvRow& row : *rows) {
    const CsvField& input = row.fields[0];
    const CsvField& sector = row.fields[1];
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
    inputs->entries.push_back(MapEntry{input.text, Loc{source, row.line, input.column},
                                       scalar_node(row.fields[2], source, row.line)});
  }
}

}  // namespace

void inline_tables(Node& root, Diagnostics& diagnostics, std::vector<std::string>& input_files) {
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
    inline_supply(root, *supply, diagnostics, input_files);
  }
  if (inputs != nullptr && checker.text(*inputs, "tables.inputs")) {
    inline_inputs(root, *inputs, diagnostics, input_files);
  }
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
