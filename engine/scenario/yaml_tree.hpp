#pragma once
// A located document tree: what the scenario loader works on instead of YAML::Node. Every node
// remembers the file, line and column it came from, so that merging (`extends`, `--set`) and late
// validation can still point at the exact spot. Private to engine/scenario.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "techdep/core/error.hpp"

namespace techdep::detail {

/// The text of one input (a file, or one `--set` argument), kept for caret display.
struct SourceText {
  std::string name;  ///< as shown in diagnostics: a path or `<--set 1>`
  std::string text;
  std::vector<std::size_t> line_starts;

  SourceText(std::string source_name, std::string source_text);
  std::string line(int one_based) const;
};

/// A position in a SourceText, 1-based.
struct Loc {
  std::shared_ptr<const SourceText> source;
  int line = 0;
  int column = 0;
};

struct Node;

struct MapEntry {
  std::string key;
  Loc key_loc;
  std::shared_ptr<Node> value;  // shared so an alias costs nothing until it is written to
};

/// A YAML value: null, a scalar (text plus whether it was quoted), a map (ordered) or a sequence.
struct Node {
  enum class Kind { Null, Scalar, Map, Seq };
  Kind kind = Kind::Null;
  std::string text;     ///< scalar text
  bool quoted = false;  ///< scalar was quoted or a block scalar: always a string
  Loc loc;
  std::vector<MapEntry> entries;            ///< Map
  std::vector<std::shared_ptr<Node>> items;  ///< Seq

  bool is_null() const { return kind == Kind::Null; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_map() const { return kind == Kind::Map; }
  bool is_seq() const { return kind == Kind::Seq; }

  const MapEntry* find(std::string_view key) const;
  MapEntry* find(std::string_view key);
  const Node* get(std::string_view key) const;
  /// "a map", "a list", "null", "'text'": how a value is named in messages.
  std::string describe() const;
};

using NodePtr = std::shared_ptr<Node>;

/// The 1-based character column of byte column `byte_column` of `line` (UTF-8).
int character_column(std::string_view line, int byte_column);

/// Collects diagnostics while loading; the loader throws one ScenarioError at the end.
class Diagnostics {
 public:
  void add(std::string kind, const Loc& where, std::string key_path, std::string message);
  void add_file(std::string kind, std::string file, std::string message);
  void add_diagnostic(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic> take() { return std::move(items_); }

 private:
  std::vector<Diagnostic> items_;
};

/// Limits that keep hostile input from crashing or exhausting the loader.
struct ParseLimits {
  std::size_t max_bytes = std::size_t{64} << 20;  ///< larger files are refused unread
  int max_flow_depth = 64;                          ///< nesting of [ and {
  int max_indent = 512;                             ///< columns of block indentation
  int max_aliases = 10000;
  std::size_t max_nodes = 2'000'000;  ///< nodes after alias expansion (billion laughs)
};

/// Throws IoError unless `path` is a regular file (following symlinks): no such file, a symlink
/// loop, a directory, a FIFO or device (which would block or never end) are each named.
void require_regular_file(const std::string& path);

/// Reads and parses one YAML file. Returns null when the file could not be parsed (the problems
/// are in `diagnostics`). Throws IoError when the file cannot be read at all.
NodePtr parse_yaml_file(const std::string& path, Diagnostics& diagnostics,
                        const ParseLimits& limits = {});

/// Parses YAML text that is already in memory (an override value, a starter template): the
/// part of `source->text` from `offset` on, which must lie on the first line when non-zero.
NodePtr parse_yaml_text(const std::shared_ptr<const SourceText>& source, Diagnostics& diagnostics,
                        const ParseLimits& limits = {}, std::size_t offset = 0);

/// Which parser builds a tree: libyaml where it reads the text as yaml-cpp would, else yaml-cpp
/// (Either, what parse_yaml_text does); or one of them alone, for the tests that compare them
/// (Libyaml returns null, reporting nothing, where it declines).
enum class YamlParser { Either, Libyaml, YamlCpp };
NodePtr parse_yaml_text_with(YamlParser which, const std::shared_ptr<const SourceText>& source,
                             Diagnostics& diagnostics, const ParseLimits& limits = {},
                             std::size_t offset = 0);

/// Writes a tree back as block-style YAML that parses to the same tree.
std::string emit_yaml(const Node& node);
/// Appends one map entry (`key:` and its value, the value's block below it) at `indent`, exactly
/// as emit_yaml writes it inside a map: for writers that splice entries kept outside the tree.
void emit_yaml_entry(const MapEntry& entry, int indent, std::string& out);
/// Appends a map key as emit_yaml writes it (quoted when it would not read back as itself).
void append_yaml_key(std::string& out, std::string_view key);
/// Appends a scalar as emit_yaml writes it (`quoted`: it was a string in its file).
void append_yaml_scalar(std::string& out, std::string_view text, bool quoted);

/// Deep copy: a node that will be edited must not share children with another tree.
NodePtr clone(const Node& node);

/// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The closest candidate within a small distance, or empty.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or empty.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace techdep::detail
