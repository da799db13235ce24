#pragma once
// Pieces every command that writes a folder shares: provenance for its manifest (build, platform,
// command line, inputs with their SHA-256) and the observation columns of its tables. Private to
// engine/app: the JSON type stays out of the public headers.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "techdep/model/metrics.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep::detail {

using Json = nlohmann::ordered_json;

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
std::string utc_now();

/// The fields a manifest starts with: tool, version, git commit and dirty flag, build type,
/// compiler and platform.
Json build_provenance();

/// A note for runs of one point of a scenario that has a sweep (`run`, `run --replicates`): they
/// run the scenario as written, and say so, in the summary and the manifest's warnings. Empty
/// when the scenario has no sweep of several points.
std::string unswept_note(const ScenarioSpec& spec, const std::string& scenario_path);

/// Writes manifest.json into a folder that compare, explain or sensitivity staged, just before it
/// is committed: provenance, the command, the scenario files and overrides, `extra` fields, and
/// the SHA-256 of each of `outputs` (already staged in `folder`).
void write_analysis_manifest(const RunFolder& folder, std::string_view command,
                             const std::vector<std::string>& scenarios,
                             const std::vector<std::string>& input_files,
                             const std::vector<Override>& overrides, Json extra,
                             const std::vector<std::string>& outputs);

/// `[{path, sha256}]` for every file a scenario read. Throws IoError when one cannot be read.
Json input_digests(const std::vector<std::string>& input_files);

/// The `--set` texts, in order.
Json override_texts(const std::vector<Override>& overrides);

/// The model's value of an observation's series in one frame.
double observation_value(const MetricsFrame& frame, const ScenarioSpec& spec,
                         const ObservationSpec& observation);

/// Appends `fact,metric,country,sector,partner,segment,date,step` of an observation (no newline).
void append_observation_key(std::string& csv, const ScenarioSpec& spec,
                            const ObservationSpec& observation);

}  // namespace techdep::detail
