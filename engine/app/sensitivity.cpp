#include "techdep/app/sensitivity.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "techdep/app/compare.hpp"

#include "app/run_support.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/parallel.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/core/statistics.hpp"
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

std::vector<std::vector<double>> sobol_design(int parameters, int samples, std::uint64_t seed) {
  if (parameters < 1) throw UsageError("sensitivity: no parameters to screen");
  if (samples < 2) throw UsageError("sensitivity: --samples must be at least 2");
  const auto k = static_cast<std::size_t>(parameters);
  const auto n = static_cast<std::size_t>(samples);
  // Plain pseudo-random rows: every row is independent, which the bootstrap over rows assumes.
  SplitMix64 rng(stream_key(seed, Population::Permutations, 1, 0));
  std::vector<std::vector<double>> a(n, std::vector<double>(k));
  std::vector<std::vector<double>> b(n, std::vector<double>(k));
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < k; ++i) a[j][i] = uniform01(rng.next());
    for (std::size_t i = 0; i < k; ++i) b[j][i] = uniform01(rng.next());
  }
  std::vector<std::vector<double>> design;
  design.reserve(n * (k + 2));
  design.insert(design.end(), a.begin(), a.end());
  design.insert(design.end(), b.begin(), b.end());
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      std::vector<double> row = a[j];
      row[i] = b[j][i];
      design.push_back(std::move(row));
    }
  }
  return design;
}

namespace {

/// Jansen's estimators over the rows `rows` (indices into 0..N-1, repeats allowed).
std::vector<SobolIndices> jansen(const std::vector<double>& values, std::size_t k, std::size_t n,
                                 const std::vector<std::size_t>& rows) {
  const auto f_a = [&](std::size_t j) { return values[j]; };
  const auto f_b = [&](std::size_t j) { return values[n + j]; };
  const auto f_ab = [&](std::size_t i, std::size_t j) { return values[(2 + i) * n + j]; };
  const auto count = static_cast<double>(rows.size());
  double mean = 0.0;
  for (const std::size_t j : rows) mean += f_a(j) + f_b(j);
  mean /= 2.0 * count;
  double variance = 0.0;
  for (const std::size_t j : rows) {
    variance += (f_a(j) - mean) * (f_a(j) - mean) + (f_b(j) - mean) * (f_b(j) - mean);
  }
  variance /= 2.0 * count - 1.0;
  std::vector<SobolIndices> out(k);
  if (!(variance > 0.0)) return out;  // the output does not move: no variance to share out
  for (std::size_t i = 0; i < k; ++i) {
    double first = 0.0;
    double total = 0.0;
    for (const std::size_t j : rows) {
      first += (f_b(j) - f_ab(i, j)) * (f_b(j) - f_ab(i, j));
      total += (f_a(j) - f_ab(i, j)) * (f_a(j) - f_ab(i, j));
    }
    out[i].first = (variance - first / (2.0 * count)) / variance;
    out[i].total = total / (2.0 * count) / variance;
  }
  return out;
}

}  // namespace

std::vector<SobolIndices> sobol_indices(const std::vector<double>& values, int parameters,
                                        int samples, int resamples, std::uint64_t seed) {
  const auto k = static_cast<std::size_t>(parameters);
  const auto n = static_cast<std::size_t>(samples);
  if (values.size() != n * (k + 2)) {
    throw UsageError(fmt::format("sensitivity: {} values for a Sobol design of {} x {} points",
                                 values.size(), n, k + 2));
  }
  std::vector<std::size_t> rows(n);
  for (std::size_t j = 0; j < n; ++j) rows[j] = j;
  std::vector<SobolIndices> out = jansen(values, k, n, rows);
  if (resamples < 1) return out;
  // Percentile intervals: the 2.5% and 97.5% quantiles of the indices over resampled rows.
  SplitMix64 rng(stream_key(seed, Population::Permutations, 2, 0));
  std::vector<std::vector<double>> firsts(k), totals(k);
  for (int resample = 0; resample < resamples; ++resample) {
    for (std::size_t j = 0; j < n; ++j) rows[j] = static_cast<std::size_t>(rng.below(n));
    const std::vector<SobolIndices> again = jansen(values, k, n, rows);
    for (std::size_t i = 0; i < k; ++i) {
      firsts[i].push_back(again[i].first);
      totals[i].push_back(again[i].total);
    }
  }
  for (std::size_t i = 0; i < k; ++i) {
    std::sort(firsts[i].begin(), firsts[i].end());
    std::sort(totals[i].begin(), totals[i].end());
    out[i].first_low = quantile_type7(firsts[i], 0.025);
    out[i].first_high = quantile_type7(firsts[i], 0.975);
    out[i].total_low = quantile_type7(totals[i], 0.025);
    out[i].total_high = quantile_type7(totals[i], 0.975);
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

/// The Sobol table on the terminal, and with --out a folder of sobol.csv, design.csv and the table.
void write_sobol(const SensitivityRequest& request, const std::string& label,
                 const ScenarioSpec& nominal, const MetricTarget& target,
                 const std::vector<ParameterSensitivity>& inputs,
                 const std::vector<std::string>& input_files,
                 const std::vector<std::vector<double>>& design, const std::vector<double>& values,
                 SensitivityOutcome& outcome) {
  outcome.table = fmt::format(
      "Sobol indices of {} at {} ({} base samples, {} runs, {} bootstrap resamples); nominal "
      "value {:.6g}\n"
      "first: share of the variance due to the parameter alone; total: with its interactions; "
      "[95% bootstrap interval]\n"
      "  {:>4} {:<48} {:>11} {:>11} {:>25} {:>25}\n",
      label, step_label(nominal.time, target.step), request.samples, outcome.runs,
      request.resamples, outcome.nominal_value, "rank", "parameter", "low", "high", "first",
      "total");
  int rank = 0;
  for (const ParameterSensitivity& p : outcome.parameters) {
    const SobolIndices& s = p.sobol;
    outcome.table += fmt::format(
        "  {:>4} {:<48} {:>11.4g} {:>11.4g} {:>7.3f} [{:>6.3f}, {:>6.3f}] {:>7.3f} [{:>6.3f}, "
        "{:>6.3f}]\n",
        ++rank, p.path, p.low, p.high, s.first, s.first_low, s.first_high, s.total, s.total_low,
        s.total_high);
  }
  if (!request.out_dir) return;
  RunFolder folder(*request.out_dir);
  std::string csv = "rank,parameter,low,high,first,first_low,first_high,total,total_low,total_high\n";
  rank = 0;
  for (const ParameterSensitivity& p : outcome.parameters) {
    csv += fmt::format("{},", ++rank);
    append_csv_field(csv, p.path);
    const SobolIndices& s = p.sobol;
    for (const double value : {p.low, p.high, s.first, s.first_low, s.first_high, s.total,
                               s.total_low, s.total_high}) {
      csv += ',';
      append_csv_number(csv, value);
    }
    csv += '\n';
  }
  write_file_atomically(folder.staged("sobol.csv"), csv);
  // The rows of A, B and each A_B^i, in parameter values, so that the indices can be
  // recomputed elsewhere.
  const std::size_t n = static_cast<std::size_t>(request.samples);
  std::string design_csv = "matrix,row";
  for (const ParameterSensitivity& p : inputs) {
    design_csv += ',';
    append_csv_field(design_csv, p.path);
  }
  design_csv += ",value\n";
  for (std::size_t index = 0; index < design.size(); ++index) {
    const std::size_t block = index / n;
    design_csv += block == 0   ? std::string{"A"}
                  : block == 1 ? std::string{"B"}
                               : fmt::format("AB{}", block - 1);
    design_csv += fmt::format(",{}", index % n);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      design_csv += ',';
      append_csv_number(design_csv,
                        inputs[i].low + design[index][i] * (inputs[i].high - inputs[i].low));
    }
    design_csv += ',';
    append_csv_number(design_csv, values[index]);
    design_csv += '\n';
  }
  write_file_atomically(folder.staged("design.csv"), design_csv);
  write_file_atomically(folder.staged("sensitivity.txt"), outcome.table);
  detail::write_analysis_manifest(folder, "sensitivity", {request.scenario}, input_files,
                                  request.overrides,
                                  {{"method", "sobol"},
                                   {"samples", request.samples},
                                   {"resamples", request.resamples},
                                   {"seed", nominal.seed},
                                   {"runs", outcome.runs}},
                                  {"sobol.csv", "design.csv", "sensitivity.txt"});
  folder.commit();
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
      parameters.push_back({uncertain.path, low, high, {}, {}});
    }
  }
  if (parameters.empty()) {
    throw UsageError(fmt::format(
        "sensitivity: {} declares no `uncertain:` parameters; name some with --param PATH=LOW:HIGH",
        request.scenario));
  }
  const ScenarioSpec nominal = loaded.with_overrides({});
  const MetricTarget target = resolve_metric_target(
      nominal, "sensitivity",
      {request.metric, request.country, request.sector, request.partner, request.segment,
       request.at});
  // Both ends of every range must be valid before hours of runs.
  const std::vector<double> zeros(parameters.size(), 0.0);
  const std::vector<double> ones(parameters.size(), 1.0);
  loaded.with_overrides(overrides_at(parameters, zeros));
  loaded.with_overrides(overrides_at(parameters, ones));

  const auto k = static_cast<int>(parameters.size());
  const bool sobol = request.method == "sobol";
  if (!sobol && request.method != "morris") {
    throw UsageError(fmt::format("sensitivity: --method '{}': expected morris or sobol",
                                 request.method));
  }
  const std::vector<std::vector<double>> design =
      sobol ? sobol_design(k, request.samples, loaded.spec.seed)
            : morris_design(k, request.trajectories, request.levels, loaded.spec.seed);
  if (request.on_plan) request.on_plan(static_cast<int>(design.size()) + 1);
  std::vector<double> values(design.size());
  if (!evaluate_all(values, request.threads, request.control, [&](std::size_t index) {
        return evaluate_target(loaded.with_overrides(overrides_at(parameters, design[index])),
                               target);
      })) {
    SensitivityOutcome interrupted;
    interrupted.interrupted = true;
    return interrupted;
  }

  SensitivityOutcome outcome;
  outcome.nominal_value = evaluate_target(nominal, target);
  outcome.runs = static_cast<int>(design.size()) + 1;
  std::string label = request.metric + "." + request.country;
  if (!request.sector.empty()) label += "." + request.sector;
  if (!request.partner.empty()) label += "." + request.partner;
  if (!request.segment.empty()) label += "@" + request.segment;
  if (sobol) {
    const std::vector<SobolIndices> indices =
        sobol_indices(values, k, request.samples, request.resamples, loaded.spec.seed);
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].sobol = indices[i];
    outcome.parameters = parameters;
    std::stable_sort(outcome.parameters.begin(), outcome.parameters.end(),
                     [](const auto& left, const auto& right) {
                       return left.sobol.total > right.sobol.total;
                     });
    write_sobol(request, label, nominal, target, parameters, loaded.input_files, design, values,
                outcome);
    return outcome;
  }
  const std::vector<MorrisStatistics> stats = morris_statistics(design, values, k);
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].stats = stats[i];
  outcome.parameters = parameters;
  std::stable_sort(outcome.parameters.begin(), outcome.parameters.end(),
                   [](const auto& left, const auto& right) {
                     return left.stats.mu_star > right.stats.mu_star;
                   });
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
    detail::write_analysis_manifest(folder, "sensitivity", {request.scenario}, loaded.input_files,
                                    request.overrides,
                                    {{"method", "morris"},
                                     {"trajectories", request.trajectories},
                                     {"levels", request.levels},
                                     {"seed", loaded.spec.seed},
                                     {"runs", outcome.runs}},
                                    {"sensitivity.csv", "design.csv", "sensitivity.txt"});
    folder.commit();
  }
  return outcome;
}

}  // namespace techdep
