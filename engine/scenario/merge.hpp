#pragma once
// Building the effective document: the `extends` chain merged into one tree, then `--set`
// overrides applied to it. Nodes keep their own locations, so a value that came from a base file
// or from an override still points there.

#include <string>
#include <vector>

#include "scenario/yaml_tree.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep::detail {

struct FieldSpec;

/// Reads `path` and every file it extends, merged (maps merge, lists of items with `id` merge by
/// id, other lists replace, null deletes). Appends each file read to `input_files`. Returns null
/// when the scenario file itself could not be parsed.
NodePtr load_with_extends(const std::string& path, Diagnostics& diagnostics,
                          std::vector<std::string>& input_files);

/// The same for a document already in memory, named `virtual_path` in diagnostics; its
/// `extends`, tables and facts paths resolve relative to that name's directory.
NodePtr load_text_with_extends(const std::string& virtual_path, std::string text,
                               Diagnostics& diagnostics, std::vector<std::string>& input_files);

/// Merges `over` onto `base` without modifying either.
NodePtr merge_nodes(const NodePtr& base, const NodePtr& over);

/// Applies `--set path=value` overrides in order. `root` must not share nodes with other trees
/// (see clone()). Each override's errors point at `<--set N>`.
void apply_overrides(Node& root, const std::vector<Override>& overrides, Diagnostics& diagnostics);

/// What a `--set` path names in a document: the node (null when the path names nothing) and the
/// schema field it belongs to (null when there is none, e.g. inside a free-form map).
struct PathTarget {
  const Node* node = nullptr;
  const FieldSpec* field = nullptr;
};

/// Follows an override path without creating anything; on failure says why in `problem`.
PathTarget find_path_target(const Node& root, const std::string& path, std::string& problem);

/// Sets one `--set`-style `path` to `value`, a node that keeps its own location (a sweep value,
/// a sampled parameter); problems with the path point at `path_at`, where the path is written,
/// and name `label` (`sweep`, `uncertain`).
void apply_path(Node& root, const std::string& path, const Loc& path_at, const NodePtr& value,
                std::string_view label, Diagnostics& diagnostics);

/// The directory of the file a node came from, for resolving relative paths.
std::string directory_of(const Loc& loc);

}  // namespace techdep::detail
