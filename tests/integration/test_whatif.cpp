#include <cmath>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"
#include "techdep/app/compare.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::run_cli;
using techdep::test::TempDir;

namespace {

const std::string kTiny = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/tiny.yaml";
const std::string kWeaker = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/tiny-weaker.yaml";

}  // namespace

TEST_CASE("compare finds no difference between a scenario and itself", "[whatif]") {
  techdep::CompareRequest request;
  request.base = kTiny;
  request.variants = {kTiny};
  const techdep::CompareOutcome outcome = techdep::compare_scenarios(request);
  REQUIRE_FALSE(outcome.rows.empty());
  for (const techdep::SeriesComparison& row : outcome.rows) {
    CHECK(row.peak_difference == 0.0);
    CHECK(row.first_divergence_step == -1);
  }
}

TEST_CASE("compare dates the divergence of a weaker control no earlier than the control", "[whatif]") {
  techdep::CompareRequest request;
  request.base = kTiny;
  request.variants = {kWeaker};
  request.threshold = 0.001;
  const techdep::CompareOutcome outcome = techdep::compare_scenarios(request);
  const techdep::ScenarioSpec spec = techdep::load_scenario(kTiny).spec;
  const int control_step = spec.events[0].at_step;
  bool found = false;
  for (const techdep::SeriesComparison& row : outcome.rows) {
    if (row.series != "shortage.EST.chips") continue;
    found = true;
    // The weaker control cuts less: less shortage, first visible after the control starts.
    CHECK(row.peak_difference < -0.01);
    CHECK(row.first_divergence_step > control_step);
    CHECK(row.variant_end - row.base_end <= 0.0);
  }
  CHECK(found);
  for (const techdep::SeriesComparison& row : outcome.rows) {
    if (row.first_divergence_step >= 0) CHECK(row.first_divergence_step > control_step);
  }
}

TEST_CASE("compare writes its tables atomically through the CLI", "[whatif][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "cmp";
  const auto result = run_cli("compare '" + kTiny + "' '" + kWeaker + "' --out '" + out.string() + "'");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("variant tiny-weaker"));
  const std::string summary = read_text(out / "compare_summary.csv");
  CHECK(summary.rfind("variant,series,base_end,variant_end,end_difference,peak_difference,"
                      "peak_date,first_divergence_date\n", 0) == 0);
  CHECK_THAT(summary, Catch::Contains("tiny-weaker,shortage.EST.chips,"));
  CHECK(fs::is_regular_file(out / "differences.csv"));
  // It says what is compared with what, and its folder has a manifest like a run's.
  CHECK_THAT(result.out, Catch::Contains("against the base tiny"));
  const nlohmann::json manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
  CHECK(manifest["command"] == "compare");
  CHECK(manifest["outputs"].size() == 3);
  CHECK(manifest["inputs"].size() >= 2);
}

TEST_CASE("compare names the files between a variant and its base", "[whatif][cli]") {
  // thaw-2026 extends import-substitution, which extends sanctions-2022.
  const auto result = run_cli("compare scenarios/sanctions-2022.yaml scenarios/thaw-2026.yaml");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("differences are the events and values of thaw-2026 and "
                                         "import-substitution"));
  CHECK_THAT(result.out, Catch::Contains("relative to each series' scale"));
}

TEST_CASE("explain's Shapley values add up to the change, exact and sampled", "[whatif]") {
  techdep::ExplainRequest request;
  request.scenario = kTiny;
  request.metric = "shortage";
  request.country = "EST";
  request.sector = "chips";
  const techdep::ExplainOutcome exact = techdep::explain_scenario(request);
  CHECK(exact.method == "exact Shapley");
  REQUIRE(exact.contributions.size() == 2);
  double total = 0.0;
  for (const auto& contribution : exact.contributions) total += contribution.shapley;
  CHECK(total == Approx(exact.with_events - exact.without_events).margin(1e-12));
  // The control causes the shortage; it must rank first and push shortage up.
  CHECK(exact.contributions[0].event_id == "chip-controls");
  CHECK(exact.contributions[0].shapley > 0.01);
  CHECK(exact.without_events == Approx(0.0).margin(1e-12));

  request.exact_limit = 0;
  request.samples = 50;
  const techdep::ExplainOutcome sampled = techdep::explain_scenario(request);
  CHECK(sampled.method == "sampled Shapley (50 permutations)");
  double sampled_total = 0.0;
  for (const auto& contribution : sampled.contributions) sampled_total += contribution.shapley;
  CHECK(sampled_total == Approx(sampled.with_events - sampled.without_events).margin(1e-12));
  // Exact values have no sampling error; sampled ones report theirs, small beside the value.
  for (const auto& contribution : exact.contributions) CHECK(contribution.standard_error == 0.0);
  CHECK(sampled.contributions[0].standard_error > 0.0);
  CHECK(sampled.contributions[0].standard_error < 0.5 * std::abs(sampled.contributions[0].shapley));
  // Same seed, same permutations: the sampled answer is reproducible.
  const techdep::ExplainOutcome again = techdep::explain_scenario(request);
  CHECK(again.contributions[0].shapley == sampled.contributions[0].shapley);
}

TEST_CASE("explain --segment attributes one kind of buyer's change", "[whatif]") {
  // The decree binds the state's segment only: it carries more of the state's domestic share
  // than of the whole's, and the values still add up to the segment's change.
  techdep::ExplainRequest request;
  request.scenario = "tests/data/cli/segments.yaml";
  request.metric = "domestic_share";
  request.country = "EST";
  request.sector = "chips";
  const auto decree_share = [](const techdep::ExplainOutcome& outcome) {
    for (const auto& contribution : outcome.contributions) {
      if (contribution.event_id == "chip-decree") return contribution.shapley;
    }
    return 0.0;
  };
  const techdep::ExplainOutcome whole = techdep::explain_scenario(request);
  request.segment = "state";
  const techdep::ExplainOutcome state = techdep::explain_scenario(request);
  double total = 0.0;
  for (const auto& contribution : state.contributions) total += contribution.shapley;
  CHECK(total == Approx(state.with_events - state.without_events).margin(1e-12));
  CHECK(decree_share(state) > decree_share(whole) + 0.01);
  CHECK_THAT(state.table, Catch::Contains("domestic_share EST chips @state at 2023-01"));

  // A metric that is not written per segment, and a segment the cell does not have, are usage
  // errors that say so.
  request.metric = "price_index";
  CHECK_THROWS_WITH(techdep::explain_scenario(request),
                    Catch::Contains("metric 'price_index' is not written per segment"));
  request.metric = "domestic_share";
  request.sector = "software";
  CHECK_THROWS_WITH(techdep::explain_scenario(request),
                    Catch::Contains("'state' is not a demand segment of EST's software"));
}

TEST_CASE("explain ignores events that start after the date asked about", "[whatif]") {
  techdep::ExplainRequest request;
  request.scenario = kTiny;
  request.metric = "capacity";
  request.country = "EST";
  request.sector = "chips";
  request.at = "2021-08";  // after the control (2021-07), before the programme (2021-09)
  const techdep::ExplainOutcome outcome = techdep::explain_scenario(request);
  for (const auto& contribution : outcome.contributions) {
    if (contribution.event_id == "chip-programme") {
      CHECK(contribution.shapley == 0.0);
      CHECK(contribution.leave_one_out == 0.0);
    }
  }
}

TEST_CASE("with_events drops lifts whose target is gone and renumbers the rest", "[whatif]") {
  techdep::ScenarioSpec spec;
  spec.events.resize(3);
  spec.events[0].id = "control";
  spec.events[0].type = techdep::EventType::ExportControl;
  spec.events[1].id = "programme";
  spec.events[1].type = techdep::EventType::Investment;
  spec.events[2].id = "thaw";
  spec.events[2].type = techdep::EventType::Lift;
  spec.events[2].lifted_event = 0;

  const techdep::ScenarioSpec without_control = techdep::with_events(spec, {false, true, true});
  REQUIRE(without_control.events.size() == 1);
  CHECK(without_control.events[0].id == "programme");

  const techdep::ScenarioSpec without_programme = techdep::with_events(spec, {true, false, true});
  REQUIRE(without_programme.events.size() == 2);
  CHECK(without_programme.events[1].id == "thaw");
  CHECK(without_programme.events[1].lifted_event == 0);

  const techdep::ScenarioSpec only_thaw = techdep::with_events(spec, {false, false, true});
  CHECK(only_thaw.events.empty());
}

TEST_CASE("explain --by mechanisms splits what keeps a thaw from restoring the start",
          "[whatif][lock-in]") {
  techdep::ExplainRequest request;
  request.scenario = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/lock-in.yaml";
  request.metric = "domestic_share";
  request.country = "EST";
  request.sector = "os";
  request.by = techdep::ExplainPlayers::Mechanisms;
  const techdep::ExplainOutcome outcome = techdep::explain_scenario(request);
  CHECK(outcome.method == "exact Shapley");
  // Every mechanism off: the thaw restores the initial domestic share (within the adjustment
  // left after 38 months).
  CHECK(outcome.without_events == Approx(0.3).margin(1e-3));
  CHECK(outcome.with_events > outcome.without_events + 0.05);
  double total = 0.0;
  for (const auto& contribution : outcome.contributions) {
    total += contribution.shapley;
    // Learning and entry are not switched on here: they are listed and carry nothing.
    if (contribution.event_id == "learning" || contribution.event_id == "entry") {
      CHECK(contribution.shapley == 0.0);
    }
  }
  CHECK(outcome.contributions.size() == techdep::kExplainMechanisms.size());
  CHECK(total == Approx(outcome.with_events - outcome.without_events).margin(1e-12));
  CHECK(outcome.contributions[0].shapley > 0.0);
  CHECK(outcome.table.find("mechanism") != std::string::npos);
}
