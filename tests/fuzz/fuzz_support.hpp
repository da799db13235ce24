#pragma once
// What the fuzz targets and their regression replay (tests/unit/reliability/test_fuzz_regressions)
// do with one input: load it, and for an accepted scenario check the properties every accepted
// input must keep. A broken property is returned as text: the fuzzers abort on it, the replay
// test fails on it.

#include <string>
#include <string_view>

#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep::fuzz {

/// Where fuzzed scenario text pretends to live: beside the shipped scenarios, so inputs that name
/// `facts:`, tables or `extends` reach real files.
inline std::string scenario_virtual_path() { return TECHDEP_SOURCE_DIR "/scenarios/fuzz-input.yaml"; }
/// The good scenario the `--set` fuzzer overrides.
inline std::string override_base_path() { return TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml"; }

/// The resolved YAML of an accepted scenario must load again and resolve to the same text
/// (`scenario.resolved.yaml` replays the run).
inline std::string round_trip_problem(const LoadedScenario& loaded, const std::string& path) {
  const std::string directory = path.substr(0, path.find_last_of('/'));
  const std::string resolved = loaded.resolved_yaml(directory);
  try {
    const std::string again = load_scenario_text(resolved, path).resolved_yaml(directory);
    if (again != resolved) return "resolved yaml is not a fixed point:\n" + resolved + "\n----\n" + again;
  } catch (const Error& error) {
    return "resolved yaml of an accepted scenario does not load:\n" + resolved + "\n" + error.what();
  }
  return {};
}

/// A few steps of a small accepted scenario with every invariant checked: it may stop with a
/// NumericalError (a named invariant); undefined behaviour is the sanitizers' to report.
inline void run_a_few_steps(const ScenarioSpec& spec) {
  const auto countries = static_cast<std::size_t>(spec.country_count());
  const auto sectors = static_cast<std::size_t>(spec.sector_count());
  if (countries * countries * sectors > 4096 || spec.mode == Mode::Agents) return;  // stay fast
  try {
    Simulation simulation(spec, SimulationOptions{true, 1});
    for (int step = 0; step < 3 && !simulation.finished(); ++step) simulation.step();
  } catch (const NumericalError&) {
  }
}

/// Splits the fuzz input into `--set` arguments, one per line, at most 16.
inline LoadOptions overrides_from(std::string_view bytes) {
  LoadOptions options;
  while (!bytes.empty() && options.overrides.size() < 16) {
    const std::size_t end = bytes.find('\n');
    options.overrides.push_back(Override{std::string(bytes.substr(0, end))});
    bytes = end == std::string_view::npos ? std::string_view{} : bytes.substr(end + 1);
  }
  return options;
}

/// One input of either target; returns a broken property, or empty. Rejections are expected.
inline std::string check_scenario_input(std::string_view bytes) {
  try {
    const LoadedScenario loaded = load_scenario_text(std::string(bytes), scenario_virtual_path());
    std::string problem = round_trip_problem(loaded, scenario_virtual_path());
    if (problem.empty()) run_a_few_steps(loaded.spec);
    return problem;
  } catch (const Error&) {
    return {};
  }
}

inline std::string check_override_input(std::string_view bytes) {
  try {
    const LoadedScenario loaded = load_scenario(override_base_path(), overrides_from(bytes));
    std::string problem = round_trip_problem(loaded, override_base_path());
    if (problem.empty()) run_a_few_steps(loaded.spec);
    return problem;
  } catch (const Error&) {
    return {};
  }
}

}  // namespace techdep::fuzz
