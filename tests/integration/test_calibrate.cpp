#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "integration/cli_runner.hpp"
#include "techdep/app/calibrate.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::run_cli;
using techdep::test::TempDir;

namespace {

const std::string kKnownWorld =
    std::string(TECHDEP_SOURCE_DIR) + "/tests/data/calibrate/known-world.yaml";

constexpr double kTrueIntensity = 0.6;
constexpr double kTrueRate = 0.03;

// The model's own value of every observation of known-world at the true parameters: the data a
// perfect calibration must reproduce.
std::vector<double> true_observations() {
  techdep::LoadOptions options;
  options.overrides = {{fmt::format("events[chip-controls].intensity={}", kTrueIntensity)},
                       {fmt::format("events[wave].rate={}", kTrueRate)}};
  const techdep::ScenarioSpec spec = techdep::load_scenario(kKnownWorld, options).spec;
  std::vector<double> values(spec.observations.size());
  techdep::Simulation simulation(spec);
  while (true) {
    const techdep::MetricsFrame& frame = simulation.metrics();
    for (std::size_t index = 0; index < spec.observations.size(); ++index) {
      const techdep::ObservationSpec& observation = spec.observations[index];
      if (observation.step == frame.step) {
        values[index] = frame.value(observation.metric, observation.country, observation.sector,
                                    observation.partner);
      }
    }
    if (simulation.finished()) break;
    simulation.step();
  }
  return values;
}

techdep::CalibrateRequest known_world_request(const fs::path& out) {
  techdep::CalibrateRequest request;
  request.scenario_path = kKnownWorld;
  request.out_dir = out;
  const std::vector<double> observed = true_observations();
  for (std::size_t index = 0; index < observed.size(); ++index) {
    request.overrides.push_back({fmt::format("observations[{}].value={}", index, observed[index])});
  }
  request.parameters = {techdep::parse_fit_parameter("events[chip-controls].intensity=0.3:0.95"),
                        techdep::parse_fit_parameter("events[wave].rate=0.001:0.1")};
  return request;
}

}  // namespace

TEST_CASE("calibrate recovers known parameters from observations the model generated",
          "[calibrate]") {
  const TempDir dir;
  const techdep::CalibrateRequest request = known_world_request(dir.path() / "fit");
  const techdep::CalibrateOutcome outcome = techdep::calibrate_scenario(request);

  REQUIRE(outcome.parameters.size() == 2);
  // The start is the scenario's own values (0.8 and 0.01), far from the truth.
  CHECK(outcome.parameters[0].initial == 0.8);
  CHECK(outcome.parameters[1].initial == 0.01);
  CHECK(outcome.objective_before > 100.0);
  // Both series are strictly monotone in their parameter, so the truth is the only zero of the
  // objective. BOBYQA stops when its trust radius falls below 1e-4 of each interval; allow ten
  // times that (0.00065 in intensity, 0.0001 in the rate).
  CHECK(std::abs(outcome.parameters[0].fitted - kTrueIntensity) <= 1e-3 * 0.65);
  CHECK(std::abs(outcome.parameters[1].fitted - kTrueRate) <= 1e-3 * 0.099);
  CHECK(outcome.objective_after < 1e-2);
  CHECK(outcome.evaluations <= request.max_evaluations);
  for (const techdep::ObservationFit& row : outcome.observations) {
    CHECK(std::abs(row.model_after - row.observation.value) <= row.observation.tolerance);
  }

  const std::string fit = read_text(dir.path() / "fit" / "fit.csv");
  CHECK(fit.rfind("parameter,initial,fitted,low,high\nevents[chip-controls].intensity,0.8,", 0) == 0);
  const std::string residuals = read_text(dir.path() / "fit" / "residuals.csv");
  CHECK(residuals.rfind("fact,metric,country,sector,partner,segment,date,step,observed,model_before,"
                        "model_after,residual,tolerance,within_tolerance\n",
                        0) == 0);
  CHECK(fs::exists(dir.path() / "fit" / "manifest.json"));
  CHECK(fs::exists(dir.path() / "fit" / "calibrate.txt"));

  // fitted.sets reproduces the fit exactly: the values are written shortest round-trip.
  const std::string sets = read_text(dir.path() / "fit" / "fitted.sets");
  CHECK(sets == fmt::format("events[chip-controls].intensity={}\nevents[wave].rate={}\n",
                            outcome.parameters[0].fitted, outcome.parameters[1].fitted));
}

TEST_CASE("calibrate is deterministic", "[calibrate]") {
  const TempDir dir;
  const techdep::CalibrateOutcome first = techdep::calibrate_scenario(known_world_request(dir.path() / "a"));
  const techdep::CalibrateOutcome second = techdep::calibrate_scenario(known_world_request(dir.path() / "b"));
  CHECK(read_text(dir.path() / "a" / "fit.csv") == read_text(dir.path() / "b" / "fit.csv"));
  CHECK(read_text(dir.path() / "a" / "residuals.csv") ==
        read_text(dir.path() / "b" / "residuals.csv"));
  CHECK(first.evaluations == second.evaluations);
}

TEST_CASE("calibrate takes bounds from the parameter's range when it is finite", "[calibrate]") {
  const TempDir dir;
  techdep::CalibrateRequest request = known_world_request(dir.path() / "fit");
  request.parameters = {techdep::parse_fit_parameter("events[chip-controls].intensity")};
  request.max_evaluations = 3;
  const techdep::CalibrateOutcome outcome = techdep::calibrate_scenario(request);
  CHECK(outcome.parameters[0].low == 0.0);   // intensity is a share: [0, 1]
  CHECK(outcome.parameters[0].high == 1.0);
  CHECK(outcome.evaluations <= 3);

  // Elasticity is > 0 with no upper end: bounds must be given.
  request.parameters = {techdep::parse_fit_parameter("sectors.chips.elasticity")};
  request.out_dir = dir.path() / "unbounded";
  CHECK_THROWS_WITH(techdep::calibrate_scenario(request),
                    Catch::Contains("range is unbounded; give bounds as "
                                    "sectors.chips.elasticity=LOW:HIGH"));
  CHECK_FALSE(fs::exists(dir.path() / "unbounded"));
}

TEST_CASE("calibrate refuses bad parameters, zero tolerances and late observations",
          "[calibrate]") {
  const TempDir dir;
  techdep::CalibrateRequest request = known_world_request(dir.path() / "fit");

  CHECK_THROWS_AS(techdep::parse_fit_parameter("events[wave].rate=0.1"), techdep::UsageError);
  CHECK_THROWS_WITH(techdep::parse_fit_parameter("events[wave].rate=0.2:0.1"),
                    Catch::Contains("LOW must be below HIGH"));

  request.parameters = {techdep::parse_fit_parameter("events[no-such-event].rate=0:1")};
  CHECK_THROWS_WITH(techdep::calibrate_scenario(request),
                    Catch::Contains("unknown path 'events[no-such-event].rate'"));
  request.parameters = {techdep::parse_fit_parameter("name=0:1")};
  CHECK_THROWS_WITH(techdep::calibrate_scenario(request), Catch::Contains("not a number"));

  request.parameters = {techdep::parse_fit_parameter("events[wave].rate=0:0.1")};
  request.overrides.push_back({"observations[1].tolerance=0"});
  CHECK_THROWS_WITH(techdep::calibrate_scenario(request),
                    Catch::Contains("every tolerance must be > 0"));
  request.overrides.pop_back();

  request.overrides.push_back({"observations[1].date=2023-01"});
  CHECK_THROWS_WITH(techdep::calibrate_scenario(request),
                    Catch::Contains("observation(s) dated after 2022-12") &&
                        Catch::Contains("T1 emigrants EST 2023-01"));
  CHECK_FALSE(fs::exists(dir.path() / "fit"));
  request.allow_late = true;
  request.max_evaluations = 2;
  CHECK_NOTHROW(techdep::calibrate_scenario(request));
}

TEST_CASE("calibrate through the CLI: exit codes and the folder", "[calibrate][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "fit";
  const techdep::test::CliResult ok = run_cli(
      fmt::format("calibrate tests/data/calibrate/known-world.yaml --fit "
                  "'events[wave].rate=0.001:0.1' --max-evals 5 --out '{}'",
                  out.string()));
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("reproduce: techdep run tests/data/calibrate/known-world.yaml --set "
                    "'events[wave].rate=") != std::string::npos);
  CHECK(fs::exists(out / "fitted.sets"));

  const techdep::test::CliResult taken = run_cli(
      fmt::format("calibrate tests/data/calibrate/known-world.yaml --fit "
                  "'events[wave].rate=0.001:0.1' --out '{}'",
                  out.string()));
  CHECK(taken.exit_code == 5);

  const techdep::test::CliResult usage = run_cli(
      "calibrate tests/data/calibrate/known-world.yaml --fit 'events[wave].rate=oops'");
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("expected PATH=LOW:HIGH") != std::string::npos);
}
