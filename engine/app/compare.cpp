#include "techdep/app/compare.hpp"

#include "app/run_support.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "techdep/core/error.hpp"
#include "techdep/core/parallel.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

namespace fs = std::filesystem;

SeriesTable simulate_series(const ScenarioSpec& spec, int threads) {
  const std::vector<SeriesKey> keys = selected_series(spec);
  SeriesTable table;
  table.names.reserve(keys.size());
  for (const SeriesKey& key : keys) table.names.push_back(series_name(spec, key));

  SimulationOptions options;
  options.threads = threads;
  options.metrics = MetricScope::Scenario;  // it compares the scenario's recorded series
  Simulation simulation(spec, options);
  const auto record = [&] {
    const MetricsFrame& frame = simulation.metrics();
    std::vector<double>& row = table.values.emplace_back();
    row.reserve(keys.size());
    for (const SeriesKey& key : keys) {
      row.push_back(series_value(frame, key));
    }
  };
  record();
  while (!simulation.finished()) {
    simulation.step();
    record();
  }
  return table;
}

LoadedScenario load_scenario_or_run(const std::string& path,
                                    const std::vector<Override>& overrides) {
  LoadOptions options;
  options.overrides = overrides;
  if (fs::is_directory(path) && fs::is_regular_file(fs::path(path) / "scenario.resolved.yaml")) {
    return load_scenario((fs::path(path) / "scenario.resolved.yaml").string(), options);
  }
  return load_scenario(path, options);
}

namespace {

SeriesComparison compare_series(const std::string& variant, const std::string& name,
                                const SeriesTable& base, std::size_t base_column,
                                const SeriesTable& other, std::size_t other_column,
                                double threshold) {
  SeriesComparison row;
  row.variant = variant;
  row.series = name;
  const std::size_t steps = std::min(base.values.size(), other.values.size());
  for (std::size_t step = 0; step < steps; ++step) {
    for (const double value : {base.values[step][base_column], other.values[step][other_column]}) {
      if (std::isfinite(value)) row.scale = std::max(row.scale, std::abs(value));
    }
  }
  for (std::size_t step = 0; step < steps; ++step) {
    const double difference = other.values[step][other_column] - base.values[step][base_column];
    if (std::isnan(difference)) continue;
    if (std::abs(difference) > std::abs(row.peak_difference)) {
      row.peak_difference = difference;
      row.peak_step = static_cast<int>(step);
    }
    if (row.first_divergence_step < 0 && std::abs(difference) > threshold * row.scale) {
      row.first_divergence_step = static_cast<int>(step);
    }
  }
  row.base_end = base.values[steps - 1][base_column];
  row.variant_end = other.values[steps - 1][other_column];
  return row;
}

std::string format_table(const std::vector<SeriesComparison>& rows, const TimeSpec& time,
                         std::size_t per_variant) {
  std::string text;
  std::string current;
  std::vector<const SeriesComparison*> group;
  const auto flush = [&] {
    if (group.empty()) return;
    std::stable_sort(group.begin(), group.end(), [](const auto* left, const auto* right) {
      return std::abs(left->peak_difference) / left->scale >
             std::abs(right->peak_difference) / right->scale;
    });
    std::size_t diverging = 0;
    for (const SeriesComparison* row : group) diverging += row->first_divergence_step >= 0 ? 1 : 0;
    text += fmt::format("variant {}: {} series compared, {} diverge beyond the threshold; "
                        "largest differences relative to each series' scale first\n",
                        group.front()->variant, group.size(), diverging);
    text += fmt::format("  {:<52} {:>10} {:>10} {:>10} {:>10} {:>9}\n", "series", "base end",
                        "variant end", "end diff", "peak diff", "diverges");
    for (std::size_t index = 0; index < std::min(per_variant, group.size()); ++index) {
      const SeriesComparison& row = *group[index];
      if (row.peak_difference == 0.0) break;
      text += fmt::format("  {:<52} {:>10.4g} {:>10.4g} {:>+10.4g} {:>+10.4g} {:>9}\n", row.series,
                          row.base_end, row.variant_end, row.variant_end - row.base_end,
                          row.peak_difference,
                          row.first_divergence_step < 0
                              ? std::string("never")
                              : step_label(time, row.first_divergence_step));
    }
    group.clear();
  };
  for (const SeriesComparison& row : rows) {
    if (row.variant != current) {
      flush();
      current = row.variant;
    }
    group.push_back(&row);
  }
  flush();
  return text;
}

}  // namespace

namespace {

struct Compared {
  std::vector<SeriesTable> tables;  ///< base first
  std::map<std::string, std::size_t> base_columns;
  CompareOutcome outcome;
};

Compared compare_loaded(std::vector<NamedScenario>& scenarios, double threshold, int threads) {
  if (scenarios.size() < 2) throw UsageError("compare: name at least one variant");
  // Common random numbers: every variant runs with the base's seed.
  for (NamedScenario& scenario : scenarios) scenario.spec.seed = scenarios.front().spec.seed;

  Compared compared;
  std::vector<SeriesTable>& tables = compared.tables;
  tables.resize(scenarios.size());
  parallel_for(scenarios.size(), threads, [&](std::size_t index) {
    tables[index] = simulate_series(scenarios[index].spec, 1);
  });

  const SeriesTable& base = tables.front();
  for (std::size_t column = 0; column < base.names.size(); ++column) {
    compared.base_columns.emplace(base.names[column], column);
  }
  for (std::size_t index = 1; index < scenarios.size(); ++index) {
    const SeriesTable& other = tables[index];
    for (std::size_t column = 0; column < other.names.size(); ++column) {
      const auto found = compared.base_columns.find(other.names[column]);
      if (found == compared.base_columns.end()) continue;
      compared.outcome.rows.push_back(compare_series(scenarios[index].label, other.names[column],
                                                     base, found->second, other, column,
                                                     threshold));
    }
  }
  compared.outcome.table = format_table(compared.outcome.rows, scenarios.front().spec.time, 15);
  return compared;
}

}  // namespace

CompareOutcome compare_specs(std::vector<NamedScenario> scenarios, double threshold, int threads) {
  return compare_loaded(scenarios, threshold, threads).outcome;
}

CompareOutcome compare_scenarios(const CompareRequest& request) {
  if (request.variants.empty()) throw UsageError("compare: name at least one variant");
  std::vector<std::string> paths{request.base};
  paths.insert(paths.end(), request.variants.begin(), request.variants.end());

  std::vector<NamedScenario> loaded;
  std::vector<std::vector<std::string>> input_files;  // per scenario: its extends chain, outermost first
  for (const std::string& path : paths) {
    LoadedScenario scenario = load_scenario_or_run(path, request.overrides);
    input_files.push_back(scenario.input_files);
    std::string label = scenario.spec.name;
    loaded.push_back({std::move(label), std::move(scenario.spec)});
  }
  Compared compared = compare_loaded(loaded, request.threshold, request.threads);
  const std::vector<SeriesTable>& tables = compared.tables;
  const SeriesTable& base = tables.front();
  const std::map<std::string, std::size_t>& base_columns = compared.base_columns;
  CompareOutcome& outcome = compared.outcome;
  const TimeSpec& time = loaded.front().spec.time;
  // Say what is compared with what: the files between a variant and the base in its extends
  // chain add their own events, and a variant that does not extend the base differs from it by
  // everything the two files do not share.
  std::string relations;
  for (std::size_t index = 1; index < paths.size(); ++index) {
    const std::vector<std::string>& read = input_files[index];  // the chain, outermost first
    std::error_code error;
    const auto base_at = std::find_if(read.begin(), read.end(), [&](const std::string& file) {
      return fs::equivalent(file, paths.front(), error);
    });
    std::string relation;
    if (base_at == read.end() || base_at == read.begin()) {
      relation = fmt::format("{} does not extend the base: differences include every event and "
                             "value the two do not share",
                             loaded[index].spec.name);
    } else {
      std::vector<std::string> own;
      for (auto file = read.begin(); file != base_at; ++file) {
        own.push_back(fs::path(*file).stem().string());
      }
      relation = fmt::format("differences are the events and values of {}", fmt::join(own, " and "));
    }
    relations += fmt::format("{} ({}) against the base {} ({}), same seed; {}\n",
                                 loaded[index].spec.name, paths[index], loaded.front().spec.name,
                                 paths.front(), relation);
  }
  outcome.table = relations + outcome.table;

  if (request.out_dir) {
    RunFolder folder(*request.out_dir);
    std::string differences = "variant,step,date,series,base,variant_value,difference\n";
    for (std::size_t index = 1; index < paths.size(); ++index) {
      const SeriesTable& other = tables[index];
      const std::size_t steps = std::min(base.values.size(), other.values.size());
      for (std::size_t column = 0; column < other.names.size(); ++column) {
        const auto found = base_columns.find(other.names[column]);
        if (found == base_columns.end()) continue;
        for (std::size_t step = 0; step < steps; ++step) {
          const double base_value = base.values[step][found->second];
          const double variant_value = other.values[step][column];
          append_csv_field(differences, loaded[index].label);
          differences += fmt::format(",{},{},{},", step, step_label(time, static_cast<int>(step)),
                                     other.names[column]);
          append_csv_number(differences, base_value);
          differences += ',';
          append_csv_number(differences, variant_value);
          differences += ',';
          append_csv_number(differences, variant_value - base_value);
          differences += '\n';
        }
      }
    }
    write_file_atomically(folder.staged("differences.csv"), differences);

    std::string summary =
        "variant,series,base_end,variant_end,end_difference,peak_difference,peak_date,"
        "first_divergence_date\n";
    for (const SeriesComparison& row : outcome.rows) {
      append_csv_field(summary, row.variant);
      summary += ',' + row.series + ',';
      append_csv_number(summary, row.base_end);
      summary += ',';
      append_csv_number(summary, row.variant_end);
      summary += ',';
      append_csv_number(summary, row.variant_end - row.base_end);
      summary += ',';
      append_csv_number(summary, row.peak_difference);
      summary += fmt::format(",{},{}\n", step_label(time, row.peak_step),
                             row.first_divergence_step < 0
                                 ? std::string()
                                 : step_label(time, row.first_divergence_step));
    }
    write_file_atomically(folder.staged("compare_summary.csv"), summary);
    write_file_atomically(folder.staged("compare.txt"), outcome.table);
    std::vector<std::string> inputs;
    for (const std::vector<std::string>& files : input_files) {
      inputs.insert(inputs.end(), files.begin(), files.end());
    }
    detail::write_analysis_manifest(folder, "compare", paths, inputs, request.overrides,
                                    {{"base_seed", loaded.front().spec.seed},
                                     {"threshold", request.threshold}},
                                    {"differences.csv", "compare_summary.csv", "compare.txt"});
    folder.commit();
  }
  return outcome;
}

}  // namespace techdep
