#include "techdep/scenario/load_scenario.hpp"

#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "scenario/build_spec.hpp"
#include "scenario/experiment.hpp"
#include "scenario/checker.hpp"
#include "scenario/merge.hpp"
#include "scenario/schema.hpp"
#include "scenario/tables.hpp"

namespace techdep {

namespace fs = std::filesystem;

/// The effective document, kept so that `resolved_yaml` can write it out.
struct LoadedScenario::Impl {
  detail::NodePtr root;
  /// The rows of `tables.supply` when they are not in `root` (a large table is read without a
  /// node per cell); empty when they are.
  detail::SupplyTable supply;
  std::string facts_path;  ///< as read; empty when the scenario names no facts file
  detail::Experiment experiment;  ///< sweep points and uncertain parameters, located

  /// The whole document, supply rows included: built on first use (a path into the table, a
  /// point of an experiment), once, whichever thread asks first.
  const detail::Node& tree() const {
    if (supply.empty()) return *root;
    std::call_once(tree_built, [this] {
      tree_with_supply = detail::clone(*root);
      detail::insert_supply_rows(*tree_with_supply, supply);
    });
    return *tree_with_supply;
  }

 private:
  mutable std::once_flag tree_built;
  mutable detail::NodePtr tree_with_supply;
};

namespace {

std::string relative_to(const std::string& path, const std::string& directory) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  const fs::path base = fs::absolute(directory.empty() ? "." : directory, error);
  const fs::path relative = absolute.lexically_normal().lexically_relative(base.lexically_normal());
  return relative.empty() ? absolute.string() : relative.generic_string();
}

}  // namespace

std::string LoadedScenario::resolved_yaml(const std::string& relative_to_dir) const {
  if (!impl || !impl->root) return {};
  detail::Node root = *impl->root;
  if (!impl->facts_path.empty()) {
    if (detail::MapEntry* facts = root.find("facts")) {
      auto rewritten = std::make_shared<detail::Node>(*facts->value);
      rewritten->text = relative_to(impl->facts_path, relative_to_dir);
      rewritten->quoted = true;
      facts->value = rewritten;
    }
  }
  return "# effective scenario: extends merged, --set overrides applied, tables inlined\n" +
         detail::emit_yaml_with_supply(root, impl->supply);
}

ScenarioNumber LoadedScenario::number_at(const std::string& path) const {
  std::string problem;
  const detail::PathTarget target =
      impl && impl->root ? detail::find_path_target(impl->tree(), path, problem) : detail::PathTarget{};
  if (target.node == nullptr) {
    throw UsageError(fmt::format("{}: unknown path '{}': {}", spec.file, path, problem));
  }
  const detail::Node* scalar = target.node;
  if (scalar->is_map()) scalar = scalar->get("value");
  double value = 0.0;
  if (scalar == nullptr || !scalar->is_scalar() || scalar->quoted ||
      !detail::parse_double(scalar->text, value)) {
    throw UsageError(fmt::format("{}: '{}' is {}, not a number", spec.file, path,
                                 scalar == nullptr ? "a map" : scalar->describe()));
  }
  ScenarioNumber number;
  number.value = value;
  const detail::Range range = target.field != nullptr ? target.field->range : detail::kAnyNumber;
  number.min = range.min;
  number.max = range.max;
  number.min_open = range.min_open;
  number.max_open = range.max_open;
  return number;
}

namespace {

/// Validates a document derived from a loaded scenario (a sweep point, a design point).
ScenarioSpec build_point(const LoadedScenario::Impl& impl, const ScenarioSpec& loaded,
                         const detail::Node& root, detail::Diagnostics& diagnostics) {
  detail::Checker checker(diagnostics, impl.experiment.facts);
  ScenarioSpec out = detail::build_spec(root, checker);
  if (!diagnostics.empty()) throw ScenarioError(diagnostics.take());
  out.file = loaded.file;
  return out;
}

}  // namespace

ScenarioSpec LoadedScenario::point_spec(int point,
                                        const std::vector<double>& uncertain_values) const {
  if (point < -1 || point >= spec.sweep.point_count()) {
    throw UsageError(fmt::format("{}: no sweep point {} (the scenario has {})", spec.file, point,
                                 spec.sweep.point_count()));
  }
  if (!uncertain_values.empty() && uncertain_values.size() != spec.uncertain.size()) {
    throw UsageError(fmt::format("{}: {} uncertain values for {} uncertain parameters", spec.file,
                                 uncertain_values.size(), spec.uncertain.size()));
  }
  detail::Diagnostics diagnostics;
  const detail::NodePtr root = detail::experiment_point(impl->tree(), spec, impl->experiment, point,
                                                        uncertain_values, diagnostics);
  return build_point(*impl, spec, *root, diagnostics);
}

ScenarioSpec LoadedScenario::with_overrides(const std::vector<Override>& extra) const {
  detail::Diagnostics diagnostics;
  const detail::NodePtr root =
      detail::experiment_point(impl->tree(), spec, impl->experiment, -1, {}, diagnostics);
  detail::apply_overrides(*root, extra, diagnostics);
  return build_point(*impl, spec, *root, diagnostics);
}

namespace {

/// Everything after parsing the scenario document itself: overrides, tables, facts, checks.
LoadedScenario finish_loading(const std::string& path, const detail::NodePtr& merged,
                              detail::Diagnostics& diagnostics, LoadedScenario loaded,
                              const LoadOptions& options) {
  if (!merged) throw ScenarioError(diagnostics.take());

  // Overrides and tables edit the tree in place; the merged tree may share nodes via aliases.
  const detail::NodePtr root = detail::clone(*merged);
  detail::apply_overrides(*root, options.overrides, diagnostics);
  if (options.before_build && root->is_map()) {
    const auto entries = [&](std::string_view key) {
      const detail::Node* node = root->get(key);
      return node != nullptr && node->is_map() ? static_cast<std::uint64_t>(node->entries.size())
                                                : std::uint64_t{0};
    };
    options.before_build(entries("countries"), entries("sectors"));
  }
  auto impl = std::make_shared<LoadedScenario::Impl>();
  const detail::FactsIndex facts =
      detail::load_facts(*root, diagnostics, loaded.input_files, impl->facts_path);
  // A sweep or uncertain parameters apply paths to copies of the whole document at load time:
  // their scenario's supply rows go into the tree at once.
  const bool varies = root->is_map() && (root->find("sweep") != nullptr ||
                                         root->find("uncertain") != nullptr);
  detail::SupplyTable supply;
  detail::inline_tables(*root, diagnostics, loaded.input_files, varies ? nullptr : &supply);

  detail::Checker checker(diagnostics, facts);
  std::optional<ScenarioSpec> built;
  if (!supply.empty()) {
    detail::Diagnostics attempt;
    detail::Checker table_checker(attempt, facts);
    built = detail::build_spec(*root, table_checker, supply);
    if (built) {
      for (Diagnostic& diagnostic : attempt.take()) diagnostics.add_diagnostic(std::move(diagnostic));
      impl->supply = std::move(supply);
    } else {
      detail::insert_supply_rows(*root, supply);
    }
  }
  loaded.spec = built ? std::move(*built) : detail::build_spec(*root, checker);
  impl->experiment.facts = facts;
  if (diagnostics.empty()) {
    detail::read_experiment(*root, checker, loaded.spec, impl->experiment, loaded.input_files);
  }
  if (!diagnostics.empty()) throw ScenarioError(diagnostics.take());

  loaded.spec.file = path;
  impl->root = root;
  loaded.impl = std::move(impl);
  return loaded;
}

}  // namespace

LoadedScenario load_scenario(const std::string& path, const LoadOptions& options) {
  detail::require_regular_file(path);

  detail::Diagnostics diagnostics;
  LoadedScenario loaded;
  const detail::NodePtr merged = detail::load_with_extends(path, diagnostics, loaded.input_files);
  return finish_loading(path, merged, diagnostics, std::move(loaded), options);
}

LoadedScenario load_scenario_text(std::string text, const std::string& virtual_path,
                                  const LoadOptions& options) {
  detail::Diagnostics diagnostics;
  LoadedScenario loaded;
  const detail::NodePtr merged =
      detail::load_text_with_extends(virtual_path, std::move(text), diagnostics,
                                     loaded.input_files);
  return finish_loading(virtual_path, merged, diagnostics, std::move(loaded), options);
}

}  // namespace techdep
