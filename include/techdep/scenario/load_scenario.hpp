#pragma once
// Loading a scenario file: parse, resolve `extends`, apply `--set` overrides, read the CSV tables
// it names, validate everything and produce a ScenarioSpec. The only public door to yaml-cpp,
// which never appears in a public header.

#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "techdep/core/error.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

/// One `--set path=value` override, as typed on the command line.
struct Override {
  std::string text;  ///< `events[export-controls-2022].intensity=0.5`
};

/// A number in a loaded scenario and the range the format allows for it (infinite: unbounded).
struct ScenarioNumber {
  double value = 0.0;
  double min = 0.0;
  double max = 0.0;
  bool min_open = false;
  bool max_open = false;
};

struct LoadOptions {
  std::vector<Override> overrides;
  /// Called with the number of countries and sectors once the document is parsed and merged,
  /// before the dense tables are built (countries x sectors x origins doubles): it may throw to
  /// refuse (a run checks its memory estimate there, docs/reliability.md "Limits").
  std::function<void(std::uint64_t countries, std::uint64_t sectors)> before_build;
};

struct LoadedScenario {
  ScenarioSpec spec;
  /// The effective scenario after extends and overrides, as a self-contained YAML document
  /// (tables inlined, no `extends`), which loads back to the same spec. Paths it keeps (`facts`)
  /// are written relative to the directory passed to `resolved_yaml`.
  std::string resolved_yaml(const std::string& relative_to_dir) const;
  /// The number a `--set` path names in the effective scenario (the `value` of a
  /// `{value, source}` number) and the range the format allows for it. Throws UsageError when the
  /// path names nothing or something that is not a number.
  ScenarioNumber number_at(const std::string& path) const;
  /// Every file read: the scenario, its `extends` chain, CSV tables and the facts file.
  std::vector<std::string> input_files;
  std::vector<std::string> warnings;
  /// The scenario at sweep point `point` (-1: none of them) with `uncertain_values`, one
  /// per `spec.uncertain` entry (empty: the scenario's own values), applied after every other
  /// override. The result has no sweep, uncertain or replicates of its own. Reads no file.
  /// Throws ScenarioError when a value does not validate, UsageError for a bad point.
  ScenarioSpec point_spec(int point, const std::vector<double>& uncertain_values = {}) const;
  /// The scenario with `extra` overrides applied after every other one (a design point of
  /// `techdep sensitivity`), without sweep, uncertain or replicates. Reads no file. Throws
  /// ScenarioError (problems point at `<--set N>`).
  ScenarioSpec with_overrides(const std::vector<Override>& extra) const;

  struct Impl;
  std::shared_ptr<const Impl> impl;  ///< keeps the merged document for resolved_yaml
};

/// Loads and validates a scenario. Throws ScenarioError with every problem found (exit 3), or
/// IoError when the file cannot be read (exit 5).
LoadedScenario load_scenario(const std::string& path, const LoadOptions& options = {});

/// The same for a scenario already in memory (fuzzing, editors): `text` is read as if it were
/// the file `virtual_path`, whose directory anchors relative `extends`, table and facts paths
/// (those files are read from disk). Throws ScenarioError (exit 3) or IoError (exit 5).
LoadedScenario load_scenario_text(std::string text, const std::string& virtual_path,
                                  const LoadOptions& options = {});

/// A JSON Schema (draft 2020-12) of the scenario format, for editors (`techdep schema`).
std::string scenario_json_schema();

/// Names of the starter templates `techdep init` knows.
std::vector<std::string> starter_template_names();
/// A commented starter scenario; throws UsageError for an unknown template name.
std::string starter_scenario(std::string_view template_name);

/// One entry of the parameter catalogue (`techdep params`).
struct ParamInfo {
  std::string path;         ///< e.g. `sectors.<id>.elasticity`
  std::string unit;
  std::string default_value;
  std::string range;        ///< e.g. `(0, 1]`, `> 0, != 1`
  std::string meaning;
  /// The range as data (`params --json`), for numeric parameters: each bound when there is one,
  /// whether it is excluded, and values excluded inside (an elasticity of exactly 1).
  bool numeric = false;
  std::optional<double> minimum;
  std::optional<double> maximum;
  bool minimum_exclusive = false;
  bool maximum_exclusive = false;
  std::vector<double> excluded;
  std::vector<std::string> choices;  ///< for a parameter that takes one of these names
};
const std::vector<ParamInfo>& parameter_catalogue();

}  // namespace techdep
