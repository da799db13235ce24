#include "techdep/app/sensitivity.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "techdep/app/compare.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/parallel.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

std::vector<std::vector<double>> morris_design(int parameters, int trajectories, int levels,
                                               std::uint64_t seed) {
  if (parameters < 1) throw UsageError("sensitivity: no parameters to screen");
  if (levels < 2 || levels % 2 != 0) {
    throw UsageError(fmt::format("sensitivity: --levels {} must be even and at least 2", levels));
  }
  const double delta = levels / (2.0 * (levels - 1));
  const auto k = static_cast<std::size_t>(parameters);
  // Base points on the levels from which +delta stays in the cube (Morris 1991, section 3).
  const auto base_levels = static_cast<std::uint64_t>(levels / 2);
  SplitMix64 rng(stream_key(seed, Population::Permutations, 0, 0));
  std::vector<std::vector<double>> design;
  design.reserve(static_cast<std::size_t>(trajectories) * (k + 1));
  for (int trajectory = 0; trajectory < trajectories; ++trajectory) {
    std::vector<double> x(k);
    std::vector<double> direction(k);
    for (std::size_t i = 0; i < k; ++i) {
      x[i] = static_cast<double>(rng.below(base_levels)) / (levels - 1);
      // Half the steps go down, starting from the mirrored level, so both ends are explored.
      direction[i] = rng.below(2) == 0 ? 1.0 : -1.0;
      if (direction[i] < 0) x[i] += delta;
    }
    std::vector<std::size_t> order(k);
    for (std::size_t i = 0; i < k; ++i) order[i] = i;
    for (std::size_t i = k; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    design.push_back(x);
    for (const std::size_t i : order) {
      x[i] += direction[i] * delta;
      design.push_back(x);
    }
  }
  return design;
}

std::vector<MorrisStatistics> morris_statistics(const std::vector<std::vector<double>>& design,
                                                const std::vector<double>& values,
                                                int parameters) {
  const auto k = static_cast<std::size_t>(parameters);
  std::vector<std::vector<double>> effects(k);
  for (std::size_t start = 0; start + k < design.size() && start + k < values.size();
       start += k + 1) {
    for (std::size_t step = 0; step < k; ++step) {
      const std::vector<double>& before = design[start + step];
      const std::vector<double>& after = design[start + step + 1];
      for (std::size_t i = 0; i < k; ++i) {
        const double moved = after[i] - before[i];
        if (moved == 0.0) continue;
        effects[i].push_back((values[start + step + 1] - values[start + step]) / moved);
      }
    }
  }
  std::vector<MorrisStatistics> out(k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::vector<double>& ee = effects[i];
    MorrisStatistics& stats = out[i];
    stats.effects = static_cast<int>(ee.size());
    if (ee.empty()) continue;
    double sum = 0.0;
    double absolute = 0.0;
    for (const double value : ee) {
      sum += value;
      absolute += std::abs(value);
    }
    stats.mu = sum / static_cast<double>(ee.size());
    stats.mu_star = absolute / static_cast<double>(ee.size());
    double squares = 0.0;
    for (const double value : ee) squares += (value - stats.mu) * (value - stats.mu);
    stats.sigma = ee.size() > 1 ? std::sqrt(squares / static_cast<double>(ee.size() - 1)) : 0.0;
  }
  return out;
}

namespace {

ParameterSensitivity parse_param(const std::string& text) {
  const std::size_t equals = text.rfind('=');
  const std::size_t colon = text.rfind(':');
  ParameterSensitivity parameter;
  bool ok = equals != std::string::npos && colon != std::string::npos && colon > equals &&
            equals > 0;
  if (ok) {
    parameter.path = text.substr(0, equals);
    try {
      std::size_t used = 0;
      const std::string low = text.substr(equals + 1, colon - equals - 1);
      const std::string high = text.substr(colon + 1);
      parameter.low = std::stod(low, &used);
      ok = used == low.size();
      parameter.high = std::stod(high, &used);
      ok = ok && used == high.size();
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || !(parameter.low < parameter.high)) {
    throw UsageError(fmt::format(
        "sensitivity: --param '{}': expected PATH=LOW:HIGH with LOW < HIGH, e.g. "
        "sectors.chips.elasticity=2:4",
        text));
  }
  return parameter;
}

std::vector<Override> overrides_at(const std::vector<ParameterSensitivity>& parameters,
                                   const std::vector<double>& unit_point) {
  std::vector<Override> overrides;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSensitivity& p = parameters[i];
    overrides.push_back({fmt::format("{}={}", p.path, p.low + unit_point[i] * (p.high - p.low))});
  }
  return overrides;
}

}  // namespace

SensitivityOutcome sensitivity_analysis(const SensitivityRequest& request) {
  if (request.trajectories < 2) throw UsageError("sensitivity: --trajectories must be at least 2");
  const LoadedScenario loaded = load_scenario_or_run(request.scenario, request.overrides);
  std::vector<ParameterSensitivity> parameters;
  for (const std::string& text : request.params) parameters.push_back(parse_param(text));
  if (parameters.empty()) {
    for (const UncertainSpec& uncertain : loaded.spec.uncertain) {
      const auto [low, high] = uncertain.distribution.screening_range();
      parameters.push_back({uncertain.path, low, high, {}});
    }
  }
  if (parameters.empty()) {
    throw UsageError(fmt::format(
        "sensitivity: {} declares no `uncertain:` parameters; name some with --param PATH=LOW:HIGH",
        request.scenario));
  }
  const ScenarioSpec nominal = loaded.with_overrides({});
  const MetricTarget target = resolve_metric_target(nominal, "sensitivity", request.metric,
                                                    request.country, request.sector,
                                                    request.partner, request.at);
  // Both ends of every range must be valid before hours of runs.
  const std::vector<double> zeros(parameters.size(), 0.0);
  const std::vector<double> ones(parameters.size(), 1.0);
  loaded.with_overrides(overrides_at(parameters, zeros));
  loaded.with_overrides(overrides_at(parameters, ones));

  const auto k = static_cast<int>(parameters.size());
  const std::vector<std::vector<double>> design =
      morris_design(k, request.trajectories, request.levels, loaded.spec.seed);
  std::vector<double> values(design.size());
  if (!evaluate_all(values, request.threads, request.control, [&](std::size_t index) {
        return evaluate_target(loaded.with_overrides(overrides_at(parameters, design[index])),
                               target);
      })) {
    SensitivityOutcome interrupted;
    interrupted.interrupted = true;
    return interrupted;
  }
  const std::vector<MorrisStatistics> stats = morris_statistics(design, values, k);
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].stats = stats[i];

  SensitivityOutcome outcome;
  outcome.nominal_value = evaluate_target(nominal, target);
  outcome.runs = static_cast<int>(design.size()) + 1;
  outcome.parameters = parameters;
  std::stable_sort(outcome.parameters.begin(), outcome.parameters.end(),
                   [](const auto& left, const auto& right) {
                     return left.stats.mu_star > right.stats.mu_star;
                   });
  std::string label = request.metric + "." + request.country;
  if (!request.sector.empty()) label += "." + request.sector;
  if (!request.partner.empty()) label += "." + request.partner;
  outcome.table = fmt::format(
      "Morris screening of {} at {} ({} trajectories, {} levels, {} runs); nominal value {:.6g}\n"
      "effects are output changes per full range of each parameter\n"
      "  {:>4} {:<48} {:>11} {:>11} {:>11} {:>11} {:>11}\n",
      label, step_label(nominal.time, target.step), request.trajectories, request.levels,
      outcome.runs, outcome.nominal_value, "rank", "parameter", "low", "high", "mu*", "mu",
      "sigma");
  int rank = 0;
  for (const ParameterSensitivity& p : outcome.parameters) {
    outcome.table += fmt::format("  {:>4} {:<48} {:>11.4g} {:>11.4g} {:>11.4g} {:>+11.4g} {:>11.4g}\n",
                                 ++rank, p.path, p.low, p.high, p.stats.mu_star, p.stats.mu,
                                 p.stats.sigma);
  }

  if (request.out_dir) {
    RunFolder folder(*request.out_dir);
    std::string csv = "rank,parameter,low,high,mu_star,mu,sigma,effects\n";
    rank = 0;
    for (const ParameterSensitivity& p : outcome.parameters) {
      csv += fmt::format("{},", ++rank);
      append_csv_field(csv, p.path);
      for (const double value : {p.low, p.high, p.stats.mu_star, p.stats.mu, p.stats.sigma}) {
        csv += ',';
        append_csv_number(csv, value);
      }
      csv += fmt::format(",{}\n", p.stats.effects);
    }
    write_file_atomically(folder.staged("sensitivity.csv"), csv);
    std::string design_csv = "trajectory,step";
    for (const ParameterSensitivity& p : parameters) {
      design_csv += ',';
      append_csv_field(design_csv, p.path);
    }
    design_csv += ",value\n";
    for (std::size_t index = 0; index < design.size(); ++index) {
      design_csv += fmt::format("{},{}", index / (parameters.size() + 1),
                                index % (parameters.size() + 1));
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        design_csv += ',';
        append_csv_number(design_csv,
                          parameters[i].low + design[index][i] * (parameters[i].high - parameters[i].low));
      }
      design_csv += ',';
      append_csv_number(design_csv, values[index]);
      design_csv += '\n';
    }
    write_file_atomically(folder.staged("design.csv"), design_csv);
    write_file_atomically(folder.staged("sensitivity.txt"), outcome.table);
    folder.commit();
  }
  return outcome;
}

}  // namespace techdep
