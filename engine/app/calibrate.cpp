#include "techdep/app/calibrate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <nlopt.h>

#include "app/run_support.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

namespace fs = std::filesystem;
using detail::Json;

namespace {

// The optimiser works on the unit cube (each parameter mapped linearly onto [low, high]) so that
// one step size and one tolerance suit a rate of 0.03 and an elasticity of 3 alike.
constexpr double kInitialStep = 0.1;      // BOBYQA's first trust radius: 10% of each interval
constexpr double kUnitTolerance = 1e-4;   // stop when a step moves every parameter < 0.01%
// A catalogue bound that excludes its end point (an elasticity > 0) is approached no closer than
// this fraction of the interval, so that no trial value is one the loader rejects.
constexpr double kOpenEndMargin = 1e-6;

std::optional<double> parse_number(std::string_view text) {
  double value = 0.0;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string number_text(double value) { return fmt::format("{}", value); }

std::string observation_label(const ScenarioSpec& spec, const ObservationSpec& observation) {
  std::string label = fmt::format("{} {} {}", observation.fact, metric_info(observation.metric).name,
                                  spec.countries[static_cast<std::size_t>(observation.country)].id);
  if (observation.sector >= 0) {
    label += " " + spec.sectors[static_cast<std::size_t>(observation.sector)].id;
  }
  if (metric_info(observation.metric).shape == MetricShape::CountrySectorBloc) {
    if (observation.bloc >= 0) label += " " + spec.blocs[static_cast<std::size_t>(observation.bloc)].id;
  } else if (observation.partner >= 0) {
    label += " " + spec.countries[static_cast<std::size_t>(observation.partner)].id;
  }
  if (observation.segment >= 0) {
    label += " @" + spec.segments[static_cast<std::size_t>(observation.segment)].id;
  }
  return label + " " + step_label(spec.time, observation.step);
}

// The observations must be usable as targets: some exist, none has a zero tolerance, none is
// dated after the calibration period.
void check_observations(const ScenarioSpec& spec, const CalibrateRequest& request) {
  if (spec.observations.empty()) {
    throw UsageError(fmt::format("{}: the scenario declares no observations to fit",
                                 request.scenario_path));
  }
  std::vector<std::string> late;
  for (const ObservationSpec& observation : spec.observations) {
    if (!(observation.tolerance > 0.0)) {
      throw UsageError(fmt::format(
          "{}: observation {} has tolerance {}; calibration weighs each residual by "
          "1/tolerance, so every tolerance must be > 0",
          request.scenario_path, observation_label(spec, observation), observation.tolerance));
    }
    const std::string month = step_label(spec.time, observation.step).substr(0, 7);
    if (month > kLastCalibrationMonth) late.push_back(observation_label(spec, observation));
  }
  if (!late.empty() && !request.allow_late) {
    std::string list;
    for (const std::string& label : late) list += "\n  " + label;
    throw UsageError(fmt::format(
        "{}: {} observation(s) dated after {}: later years are how scenarios are judged, not "
        "what they are fitted to (docs/calibration.md); use a scenario whose observations end "
        "by {}, or pass --allow-late to fit them anyway:{}",
        request.scenario_path, late.size(), kLastCalibrationMonth, kLastCalibrationMonth, list));
  }
}

FittedParameter resolve_bounds(const LoadedScenario& loaded, const FitParameter& parameter,
                               const std::string& scenario_path) {
  const ScenarioNumber number = loaded.number_at(parameter.path);
  FittedParameter fitted;
  fitted.path = parameter.path;
  const double range = number.max - number.min;
  fitted.low = parameter.low.value_or(number.min);
  fitted.high = parameter.high.value_or(number.max);
  if (!std::isfinite(fitted.low) || !std::isfinite(fitted.high)) {
    throw UsageError(fmt::format(
        "{}: --fit {}: the parameter's range is unbounded; give bounds as {}=LOW:HIGH",
        scenario_path, parameter.path, parameter.path));
  }
  if (!parameter.low && number.min_open) fitted.low += kOpenEndMargin * range;
  if (!parameter.high && number.max_open) fitted.high -= kOpenEndMargin * range;
  if (!(fitted.low < fitted.high)) {
    throw UsageError(fmt::format("{}: --fit {}: low bound {} is not below high bound {}",
                                 scenario_path, parameter.path, fitted.low, fitted.high));
  }
  fitted.initial = std::clamp(number.value, fitted.low, fitted.high);
  fitted.fitted = fitted.initial;
  return fitted;
}

/// One evaluation of the model: the scenario loaded with the trial values as overrides, run to
/// the last observation, and the model's value of every observation.
class ObservationModel {
 public:
  ObservationModel(const CalibrateRequest& request, const std::vector<FittedParameter>& parameters)
      : request_(request), parameters_(parameters) {}

  std::vector<Override> overrides_for(const std::vector<double>& values) const {
    std::vector<Override> overrides = request_.overrides;
    for (std::size_t index = 0; index < parameters_.size(); ++index) {
      overrides.push_back({parameters_[index].path + "=" + number_text(values[index])});
    }
    return overrides;
  }

  LoadedScenario load(const std::vector<double>& values) const {
    LoadOptions options;
    options.overrides = overrides_for(values);
    return load_scenario(request_.scenario_path, options);
  }

  std::vector<double> evaluate(const ScenarioSpec& spec) const {
    int last_step = 0;
    for (const ObservationSpec& observation : spec.observations) {
      last_step = std::max(last_step, observation.step);
    }
    std::vector<double> model(spec.observations.size(), std::nan(""));
    SimulationOptions options;
    options.threads = request_.threads;
    options.metrics = MetricScope::Scenario;  // only the observations are read
    Simulation simulation(spec, options);
    const auto note = [&] {
      const MetricsFrame& frame = simulation.metrics();
      for (std::size_t index = 0; index < spec.observations.size(); ++index) {
        if (spec.observations[index].step == frame.step) {
          model[index] = detail::observation_value(frame, spec, spec.observations[index]);
        }
      }
    };
    note();
    // Observations end long before most scenarios do; the steps after the last one are not run.
    while (simulation.step_index() < last_step) {
      simulation.step();
      note();
    }
    return model;
  }

 private:
  const CalibrateRequest& request_;
  const std::vector<FittedParameter>& parameters_;
};

double objective(const ScenarioSpec& spec, const std::vector<double>& model) {
  double total = 0.0;
  for (std::size_t index = 0; index < model.size(); ++index) {
    const ObservationSpec& observation = spec.observations[index];
    const double z = (model[index] - observation.value) / observation.tolerance;
    // A series the model cannot value (NaN) must never look like a good fit.
    total += std::isfinite(z) ? z * z : std::numeric_limits<double>::max();
  }
  return total;
}

struct OptimiserState {
  const ObservationModel* model = nullptr;
  const std::vector<FittedParameter>* parameters = nullptr;
  nlopt_opt optimiser = nullptr;
  const std::atomic<bool>* interrupt = nullptr;
  int evaluations = 0;
  std::exception_ptr failure;  // exceptions must not cross NLopt's C frames
};

std::vector<double> to_values(const std::vector<FittedParameter>& parameters, const double* unit) {
  std::vector<double> values(parameters.size());
  for (std::size_t index = 0; index < parameters.size(); ++index) {
    const FittedParameter& parameter = parameters[index];
    values[index] = std::clamp(parameter.low + unit[index] * (parameter.high - parameter.low),
                               parameter.low, parameter.high);
  }
  return values;
}

extern "C" double nlopt_objective(unsigned /*n*/, const double* unit, double* gradient,
                                  void* data) {
  auto& state = *static_cast<OptimiserState*>(data);
  // BOBYQA is derivative-free and never asks for a gradient.
  if (gradient != nullptr) return std::numeric_limits<double>::max();
  try {
    if (state.interrupt != nullptr && state.interrupt->load()) {
      throw Interrupted(fmt::format("interrupted after {} model runs; nothing written",
                                    state.evaluations + 1));
    }
    ++state.evaluations;
    const LoadedScenario loaded = state.model->load(to_values(*state.parameters, unit));
    return objective(loaded.spec, state.model->evaluate(loaded.spec));
  } catch (...) {
    state.failure = std::current_exception();
    nlopt_force_stop(state.optimiser);
    return std::numeric_limits<double>::max();
  }
}

struct OptimiserDeleter {
  void operator()(nlopt_opt optimiser) const { nlopt_destroy(optimiser); }
};

std::string fit_csv(const std::vector<FittedParameter>& parameters) {
  std::string csv = "parameter,initial,fitted,low,high\n";
  for (const FittedParameter& parameter : parameters) {
    append_csv_field(csv, parameter.path);
    for (const double value : {parameter.initial, parameter.fitted, parameter.low, parameter.high}) {
      csv += ',';
      append_csv_number(csv, value);
    }
    csv += '\n';
  }
  return csv;
}

std::string residuals_csv(const ScenarioSpec& spec, const std::vector<ObservationFit>& rows) {
  std::string csv =
      "fact,metric,country,sector,partner,segment,date,step,observed,model_before,model_after,residual,"
      "tolerance,within_tolerance\n";
  for (const ObservationFit& row : rows) {
    const ObservationSpec& observation = row.observation;
    detail::append_observation_key(csv, spec, observation);
    for (const double value : {observation.value, row.model_before, row.model_after,
                               row.model_after - observation.value, observation.tolerance}) {
      csv += ',';
      append_csv_number(csv, value);
    }
    csv += std::abs(row.model_after - observation.value) <= observation.tolerance ? ",1\n" : ",0\n";
  }
  return csv;
}

std::string fitted_sets(const std::vector<FittedParameter>& parameters) {
  std::string text;
  for (const FittedParameter& parameter : parameters) {
    text += fmt::format("{}={}\n", parameter.path, number_text(parameter.fitted));
  }
  return text;
}

std::string make_report(const CalibrateRequest& request, const CalibrateOutcome& outcome) {
  std::string text = fmt::format(
      "calibrate {}: {} parameter(s), {} observation(s), {} model runs, BOBYQA stopped: {}\n",
      request.scenario_path, outcome.parameters.size(), outcome.observations.size(),
      outcome.evaluations, outcome.stop_reason);
  text += fmt::format("  objective sum(((model - observed) / tolerance)^2): {:.6g} -> {:.6g}\n",
                      outcome.objective_before, outcome.objective_after);
  text += fmt::format("  {:<44} {:>12} {:>12} {:>12} {:>12}\n", "parameter", "initial", "fitted",
                      "low", "high");
  for (const FittedParameter& parameter : outcome.parameters) {
    text += fmt::format("  {:<44} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g}\n", parameter.path,
                        parameter.initial, parameter.fitted, parameter.low, parameter.high);
  }
  text += fmt::format("  {:<60} {:>10} {:>10} {:>10} {:>10} {:>6}\n", "observation", "observed",
                      "before", "after", "tolerance", "within");
  for (const ObservationFit& row : outcome.observations) {
    const ObservationSpec& observation = row.observation;
    text += fmt::format(
        "  {:<60} {:>10.6g} {:>10.6g} {:>10.6g} {:>10.6g} {:>6}\n",
        observation_label(outcome.spec, observation), observation.value, row.model_before,
        row.model_after, observation.tolerance,
        std::abs(row.model_after - observation.value) <= observation.tolerance ? "yes" : "no");
  }
  std::string sets;
  for (const FittedParameter& parameter : outcome.parameters) {
    sets += fmt::format(" --set '{}={}'", parameter.path, number_text(parameter.fitted));
  }
  text += fmt::format("  reproduce: techdep run {}{}\n", request.scenario_path, sets);
  return text;
}

}  // namespace

FitParameter parse_fit_parameter(const std::string& text) {
  FitParameter parameter;
  const std::size_t equals = text.find('=');
  parameter.path = text.substr(0, equals);
  if (parameter.path.empty()) {
    throw UsageError(fmt::format("--fit '{}': expected PATH or PATH=LOW:HIGH", text));
  }
  if (equals == std::string::npos) return parameter;
  const std::string bounds = text.substr(equals + 1);
  const std::size_t colon = bounds.find(':');
  const std::optional<double> low =
      colon == std::string::npos ? std::nullopt : parse_number(bounds.substr(0, colon));
  const std::optional<double> high =
      colon == std::string::npos ? std::nullopt : parse_number(bounds.substr(colon + 1));
  if (!low || !high) {
    throw UsageError(fmt::format("--fit '{}': expected PATH=LOW:HIGH with two numbers, e.g. "
                                 "events[wave-1].rate=0.01:0.05",
                                 text));
  }
  if (!(*low < *high)) {
    throw UsageError(fmt::format("--fit '{}': LOW must be below HIGH", text));
  }
  parameter.low = low;
  parameter.high = high;
  return parameter;
}

CalibrateOutcome calibrate_scenario(const CalibrateRequest& request) {
  if (request.parameters.empty()) {
    throw UsageError("calibrate: name at least one parameter with --fit PATH[=LOW:HIGH]");
  }
  if (request.max_evaluations < 1) {
    throw UsageError(fmt::format("calibrate: --max-evals must be at least 1, got {}",
                                 request.max_evaluations));
  }
  const std::string started_utc = detail::utc_now();
  LoadOptions base_options;
  base_options.overrides = request.overrides;
  const LoadedScenario base = load_scenario(request.scenario_path, base_options);
  if (base.spec.mode == Mode::Agents) {
    throw UsageError(fmt::format("{}: calibration needs mode 'aggregate'", request.scenario_path));
  }
  check_observations(base.spec, request);

  CalibrateOutcome outcome;
  for (const FitParameter& parameter : request.parameters) {
    const auto same = std::find_if(outcome.parameters.begin(), outcome.parameters.end(),
                                   [&](const FittedParameter& p) { return p.path == parameter.path; });
    if (same != outcome.parameters.end()) {
      throw UsageError(fmt::format("--fit {}: named twice", parameter.path));
    }
    outcome.parameters.push_back(resolve_bounds(base, parameter, request.scenario_path));
  }

  // Reserve the folder before the (long) fit so that a taken name fails at once.
  const fs::path out_dir =
      request.out_dir ? *request.out_dir : default_run_dir("runs", base.spec.name + "-calibrate");
  RunFolder folder(out_dir);

  const ObservationModel model(request, outcome.parameters);
  std::vector<double> initial;
  std::vector<double> unit;
  for (const FittedParameter& parameter : outcome.parameters) {
    initial.push_back(parameter.initial);
    unit.push_back((parameter.initial - parameter.low) / (parameter.high - parameter.low));
  }
  const LoadedScenario before = model.load(initial);
  const std::vector<double> model_before = model.evaluate(before.spec);
  outcome.objective_before = objective(before.spec, model_before);

  const auto dimensions = static_cast<unsigned>(outcome.parameters.size());
  const std::unique_ptr<nlopt_opt_s, OptimiserDeleter> optimiser(
      nlopt_create(NLOPT_LN_BOBYQA, dimensions));
  if (!optimiser) throw UsageError("calibrate: NLopt could not create a BOBYQA optimiser");
  OptimiserState state;
  state.model = &model;
  state.parameters = &outcome.parameters;
  state.optimiser = optimiser.get();
  state.interrupt = request.interrupt;
  const std::vector<double> zeros(dimensions, 0.0);
  const std::vector<double> ones(dimensions, 1.0);
  const std::vector<double> steps(dimensions, kInitialStep);
  nlopt_set_lower_bounds(optimiser.get(), zeros.data());
  nlopt_set_upper_bounds(optimiser.get(), ones.data());
  nlopt_set_initial_step(optimiser.get(), steps.data());
  nlopt_set_xtol_abs1(optimiser.get(), kUnitTolerance);
  // The first evaluation (the initial values) was made above, outside the optimiser.
  nlopt_set_maxeval(optimiser.get(), std::max(1, request.max_evaluations - 1));
  nlopt_set_min_objective(optimiser.get(), &nlopt_objective, &state);

  double best = outcome.objective_before;
  const nlopt_result result = nlopt_optimize(optimiser.get(), unit.data(), &best);
  if (state.failure) std::rethrow_exception(state.failure);
  if (result < 0 && result != NLOPT_ROUNDOFF_LIMITED) {
    throw NumericalError(fmt::format("calibrate: NLopt BOBYQA failed: {}",
                                     nlopt_result_to_string(result)));
  }
  outcome.evaluations = state.evaluations + 1;
  outcome.stop_reason = nlopt_result_to_string(result);

  // The fit is judged, and reported, by rerunning the values exactly as they are written out.
  std::vector<double> fitted = to_values(outcome.parameters, unit.data());
  LoadedScenario after = model.load(fitted);
  std::vector<double> model_after = model.evaluate(after.spec);
  outcome.objective_after = objective(after.spec, model_after);
  // BOBYQA returns its best point; keep the start when nothing beat it.
  if (outcome.objective_after > outcome.objective_before) {
    fitted = initial;
    after = model.load(fitted);
    model_after = model_before;
    outcome.objective_after = outcome.objective_before;
  }
  for (std::size_t index = 0; index < fitted.size(); ++index) {
    outcome.parameters[index].fitted = fitted[index];
  }
  outcome.spec = after.spec;
  for (std::size_t index = 0; index < outcome.spec.observations.size(); ++index) {
    outcome.observations.push_back(
        {outcome.spec.observations[index], model_before[index], model_after[index]});
  }
  outcome.report = make_report(request, outcome);

  write_file_atomically(folder.staged("fit.csv"), fit_csv(outcome.parameters));
  write_file_atomically(folder.staged("residuals.csv"),
                        residuals_csv(outcome.spec, outcome.observations));
  write_file_atomically(folder.staged("fitted.sets"), fitted_sets(outcome.parameters));
  write_file_atomically(folder.staged("calibrate.txt"), outcome.report);

  Json outputs = Json::array();
  for (const char* name : {"fit.csv", "residuals.csv", "fitted.sets", "calibrate.txt"}) {
    outputs.push_back({{"file", name}, {"sha256", sha256_file_hex(folder.staged(name))}});
  }
  Json fit = Json::array();
  for (const FittedParameter& parameter : outcome.parameters) {
    fit.push_back({{"path", parameter.path},
                   {"initial", parameter.initial},
                   {"fitted", parameter.fitted},
                   {"low", parameter.low},
                   {"high", parameter.high}});
  }
  Json manifest = detail::build_provenance();
  manifest.update(Json{
      {"command", "calibrate"},
      {"threads", request.threads},
      {"started_utc", started_utc},
      {"finished_utc", detail::utc_now()},
      {"argv", request.argv},
      {"overrides", detail::override_texts(request.overrides)},
      {"scenario", {{"name", base.spec.name}, {"file", request.scenario_path}}},
      {"inputs", detail::input_digests(base.input_files)},
      {"algorithm", "NLopt LN_BOBYQA on the unit cube of the bounds"},
      {"max_evaluations", request.max_evaluations},
      {"allow_late", request.allow_late},
      {"evaluations", outcome.evaluations},
      {"stop_reason", outcome.stop_reason},
      {"objective_before", outcome.objective_before},
      {"objective_after", outcome.objective_after},
      {"parameters", fit},
      {"outputs", outputs},
      {"status", "completed"},
  });
  write_file_atomically(folder.staged("manifest.json"), manifest.dump(2) + "\n");
  folder.commit();
  outcome.out_dir = out_dir;
  return outcome;
}

}  // namespace techdep
