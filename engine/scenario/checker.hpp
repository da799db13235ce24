#pragma once
// Typed, located reads from the document tree against the key tables. Every read that fails
// records a diagnostic and returns nothing, so validation goes on and reports every problem.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "scenario/schema.hpp"
#include "scenario/yaml_tree.hpp"

namespace techdep::detail {

/// A plain YAML number (an optional leading '+', finite); false for anything else.
bool parse_double(std::string_view text, double& out);

/// The fact ids `source:` may cite.
struct FactsIndex {
  bool declared = false;   ///< a `facts:` file was named
  bool unchecked = false;  ///< it could not be read: accept any id rather than flag them all
  std::set<std::string> ids;
};

std::string join_path(std::string_view path, std::string_view key);
std::string index_path(std::string_view path, std::size_t index);
/// How a path is named in a message: the path, or "the top level".
std::string path_text(std::string_view path);

class Checker {
 public:
  Checker(Diagnostics& diagnostics, const FactsIndex& facts)
      : diagnostics_(diagnostics), facts_(facts) {}

  Diagnostics& diagnostics() { return diagnostics_; }

  void error(std::string kind, const Node& at, std::string_view path, std::string message) {
    diagnostics_.add(std::move(kind), at.loc, std::string(path), std::move(message));
  }
  void error(std::string kind, const Loc& at, std::string_view path, std::string message) {
    diagnostics_.add(std::move(kind), at, std::string(path), std::move(message));
  }

  bool expect_map(const Node& node, std::string_view path);
  bool expect_list(const Node& node, std::string_view path);
  /// Unknown keys (with a suggestion) and missing required keys of a map. `common_only`: only
  /// the shared keys are required (an event whose type is unknown).
  void check_keys(const Node& map, const ObjectSpec& spec, std::string_view path,
                  bool common_only = false);
  /// A present, non-null value, or nullptr.
  static const Node* value_of(const Node& map, std::string_view key);

  /// A number, also written {value, source, note}. Checks the range.
  /// The scalar of a number written plainly or as `{value, source, note}` (its keys and source
  /// checked); nullptr when the map has no `value`.
  const Node* number_node(const Node& node, std::string_view path);
  std::optional<double> number(const Node& node, std::string_view path, const Range& range);
  std::optional<std::int64_t> integer(const Node& node, std::string_view path, const Range& range);
  /// A seed: a whole number from 0 to kMaxSeed (2^53 - 1).
  std::optional<std::uint64_t> seed(const Node& node, std::string_view path);
  std::optional<bool> boolean(const Node& node, std::string_view path);
  std::optional<std::string> text(const Node& node, std::string_view path);
  std::optional<std::string> choice(const Node& node, std::string_view path,
                                    std::span<const std::string_view> choices);
  /// A source: a fact id, a list of them, or `assumption`; the ids joined by ','.
  std::optional<std::string> source(const Node& node, std::string_view path);
  /// Checks that `id` names a fact; `at` is where it was written.
  bool check_fact(const std::string& id, const Node& at, std::string_view path);

  /// Reads field `key` of `map` as a number: the default when absent, per step when monthly.
  double field_number(const Node& map, const ObjectSpec& spec, std::string_view key,
                      std::string_view path, int months_per_step);

 private:
  Diagnostics& diagnostics_;
  const FactsIndex& facts_;
};

/// r_step = 1 - (1 - r_month)^months: a monthly rate compounded over one step.
double per_step(double monthly_rate, int months_per_step);

}  // namespace techdep::detail
