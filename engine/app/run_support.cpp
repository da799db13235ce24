#include "app/run_support.hpp"

#include <sys/utsname.h>

#include <ctime>

#include <fmt/format.h>

#include "techdep/core/build_info.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep::detail {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

namespace {

std::string platform() {
  utsname name{};
  if (::uname(&name) != 0) return "unknown";
  return fmt::format("{} {} {}", name.sysname, name.release, name.machine);
}

}  // namespace

Json build_provenance() {
  const BuildInfo& build = build_info();
  return {
      {"tool", "techdep"},
      {"version", build.version},
      {"git_commit", build.git_commit},
      {"git_dirty", build.dirty},
      {"build_type", build.build_type},
      {"compiler", build.compiler},
      {"libraries", build.libraries},
      {"platform", platform()},
  };
}

void write_analysis_manifest(const RunFolder& folder, std::string_view command,
                             const std::vector<std::string>& scenarios,
                             const std::vector<std::string>& input_files,
                             const std::vector<Override>& overrides, Json extra,
                             const std::vector<std::string>& outputs) {
  Json manifest = build_provenance();
  manifest["command"] = command;
  manifest["finished_utc"] = utc_now();
  manifest["scenarios"] = scenarios;
  manifest["inputs"] = input_digests(input_files);
  manifest["overrides"] = override_texts(overrides);
  for (auto& [key, value] : extra.items()) manifest[key] = value;
  Json files = Json::array();
  for (const std::string& name : outputs) {
    files.push_back({{"file", name}, {"sha256", sha256_file_hex(folder.staged(name))}});
  }
  manifest["outputs"] = files;
  manifest["status"] = "completed";
  manifest["exit_code"] = 0;
  write_file_atomically(folder.staged("manifest.json"), manifest.dump(2) + "\n");
}

Json input_digests(const std::vector<std::string>& input_files) {
  Json inputs = Json::array();
  for (const std::string& input : input_files) {
    inputs.push_back({{"path", input}, {"sha256", sha256_file_hex(input)}});
  }
  return inputs;
}

Json override_texts(const std::vector<Override>& overrides) {
  Json texts = Json::array();
  for (const Override& item : overrides) texts.push_back(item.text);
  return texts;
}

double observation_value(const MetricsFrame& frame, const ScenarioSpec& spec,
                         const ObservationSpec& observation) {
  const MetricShape shape = metric_info(observation.metric).shape;
  if (shape == MetricShape::CountrySectorPartner && observation.bloc >= 0) {
    double sum = 0.0;
    for (const CountryId member : spec.blocs[static_cast<std::size_t>(observation.bloc)].members) {
      sum += frame.value(observation.metric, observation.country, observation.sector, member,
                         observation.segment);
    }
    return sum;
  }
  const int partner =
      shape == MetricShape::CountrySectorBloc ? observation.bloc : observation.partner;
  return frame.value(observation.metric, observation.country, observation.sector, partner,
                     observation.segment);
}

void append_observation_key(std::string& csv, const ScenarioSpec& spec,
                            const ObservationSpec& observation) {
  std::string partner;
  if (observation.bloc >= 0) {
    partner = spec.blocs[static_cast<std::size_t>(observation.bloc)].id;
  } else if (observation.partner >= 0) {
    partner = spec.countries[static_cast<std::size_t>(observation.partner)].id;
  }
  append_csv_field(csv, observation.fact);
  csv += fmt::format(",{},{},{},{},{},{},{}", metric_info(observation.metric).name,
                     spec.countries[static_cast<std::size_t>(observation.country)].id,
                     observation.sector >= 0
                         ? spec.sectors[static_cast<std::size_t>(observation.sector)].id
                         : std::string(),
                     partner,
                     observation.segment >= 0
                         ? spec.segments[static_cast<std::size_t>(observation.segment)].id
                         : std::string(),
                     step_label(spec.time, observation.step), observation.step);
}

std::string unswept_note(const ScenarioSpec& spec, const std::string& scenario_path) {
  const int points = spec.sweep.point_count();
  if (points <= 1) return {};
  return fmt::format(
      "note: {} has a sweep of {} points, which `techdep run` does not run: it runs the scenario "
      "as written; `techdep sweep {}` runs every point",
      scenario_path, points, scenario_path);
}

}  // namespace techdep::detail
