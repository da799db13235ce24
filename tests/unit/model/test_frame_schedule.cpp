#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <cstddef>
#include <string>
#include <vector>

#include "support/spec_builder.hpp"
#include "techdep/matrix/total_dependency.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/timeseries_writer.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace {

using techdep::FrameSchedule;
using techdep::MetricsFrame;
using techdep::Simulation;
using techdep::SimulationOptions;

techdep::ScenarioSpec teaching_world(int every) {
  techdep::ScenarioSpec spec =
      techdep::load_scenario(std::string(TECHDEP_SOURCE_DIR) + "/scenarios/teaching-world.yaml")
          .spec;
  spec.outputs.every = every;
  spec.outputs.metrics.clear();    // every metric, total dependency included
  spec.outputs.countries.clear();  // for every buyer
  return spec;
}

Simulation scheduled(const techdep::ScenarioSpec& spec, FrameSchedule frames) {
  SimulationOptions options;
  options.frames = frames;
  return Simulation(spec, options);
}

// The metrics every frame computes, except total dependency (it only warm-starts differently).
void check_same_model_state(const MetricsFrame& a, const MetricsFrame& b) {
  CHECK(a.step == b.step);
  CHECK(a.supplier_share == b.supplier_share);
  CHECK(a.shortage == b.shortage);
  CHECK(a.capacity == b.capacity);
  CHECK(a.price_index == b.price_index);
  CHECK(a.hhi == b.hhi);
  CHECK(a.talent == b.talent);
  CHECK(a.diaspora_by_destination == b.diaspora_by_destination);
}

// Those and a breakdown a MetricScope may leave out.
void check_same_state(const MetricsFrame& a, const MetricsFrame& b) {
  check_same_model_state(a, b);
  CHECK(a.shipper_share == b.shipper_share);
}

double largest_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double largest = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  return largest;
}

}  // namespace

TEST_CASE("Recorded-steps frames equal every-step frames; total dependency within its tolerance",
          "[model][schedule]") {
  const techdep::ScenarioSpec spec = teaching_world(6);
  Simulation every = scheduled(spec, FrameSchedule::EveryStep);
  Simulation recorded = scheduled(spec, FrameSchedule::RecordedSteps);
  check_same_state(every.metrics(), recorded.metrics());
  int compared = 0;
  while (!every.finished()) {
    every.step();
    recorded.step();
    const int step = recorded.step_index();
    if (step % 6 != 0 && step != spec.time.steps) continue;
    const MetricsFrame& a = every.metrics();
    const MetricsFrame& b = recorded.metrics();
    check_same_state(a, b);
    // Both solves stop at a residual below kDependencyTolerance; the error bound is that over
    // (1 - the largest input column sum), which stays below 1/2 in this world.
    CHECK(largest_difference(a.total_dependency, b.total_dependency) <
          4.0 * techdep::kDependencyTolerance);
    ++compared;
  }
  CHECK(compared == spec.time.steps / 6);
}

TEST_CASE("A frame off the schedule is computed when asked for", "[model][schedule]") {
  const techdep::ScenarioSpec spec = teaching_world(12);
  Simulation every = scheduled(spec, FrameSchedule::EveryStep);
  Simulation recorded = scheduled(spec, FrameSchedule::RecordedSteps);
  for (int t = 0; t < 5; ++t) {
    every.step();
    recorded.step();
  }
  const MetricsFrame& asked = recorded.metrics();
  CHECK(asked.step == 5);
  check_same_state(every.metrics(), asked);
  CHECK(largest_difference(every.metrics().total_dependency, asked.total_dependency) <
        4.0 * techdep::kDependencyTolerance);
}

TEST_CASE("Origins without an initial share never gain one, and the rest still sum to one",
          "[model][schedule]") {
  // The per-flow phases skip origins with no initial share (alpha = 0): check on a world with
  // export controls, rerouting and mandates that such flows stay exactly 0 and that the shares
  // and shortage of every cell still add up.
  const techdep::ScenarioSpec spec = teaching_world(1);
  const std::size_t cn = spec.countries.size();
  Simulation sim = scheduled(spec, FrameSchedule::EveryStep);
  std::size_t empty_flows = 0;
  while (!sim.finished()) {
    sim.step();
    const MetricsFrame& frame = sim.metrics();
    for (std::size_t cell = 0; cell < frame.shortage.size(); ++cell) {
      double total = frame.shortage[cell];
      for (std::size_t k = 0; k < cn; ++k) {
        const std::size_t flow = cell * cn + k;
        total += frame.supplier_share[flow];
        if (spec.supply[flow] == 0.0 && k != cell / spec.sectors.size()) {
          CHECK(frame.supplier_share[flow] == 0.0);
          ++empty_flows;
        }
      }
      CHECK(total == Approx(1.0).margin(1e-12));
    }
  }
  CHECK(empty_flows > 0);  // the world has such flows, so the check above ran
}

TEST_CASE("Per-country phases on two or three threads give the same bits as on one",
          "[model][schedule]") {
  // Large enough (over 10,000 options) for the simulation to run its per-country phases on a
  // team of threads, and the total dependency solves on blocks of origins.
  std::vector<std::string> countries;
  for (int c = 0; c < 64; ++c) countries.push_back("C" + std::to_string(c));
  techdep::test::SpecBuilder b(countries, {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8",
                                           "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16",
                                           "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24"},
                               3);
  techdep::ScenarioSpec& raw = b.raw();
  const std::size_t cn = countries.size();
  for (std::size_t cell = 0; cell < raw.capability.size(); ++cell) {
    for (std::size_t k = 0; k < cn; ++k) {
      // Every origin supplies, unevenly: 1..64 parts out of the row's total.
      raw.supply[cell * cn + k] = static_cast<double>((cell * 7 + k * 13) % 64 + 1);
    }
    double total = 0.0;
    for (std::size_t k = 0; k < cn; ++k) total += raw.supply[cell * cn + k];
    for (std::size_t k = 0; k < cn; ++k) raw.supply[cell * cn + k] /= total;
  }
  for (std::size_t c = 1; c <= 8; ++c) {
    b.export_control("control" + std::to_string(c), 1, "C0", countries[c], 0.7, 0.5);
  }
  raw.outputs.every = 1;
  const techdep::ScenarioSpec spec = b.build();
  SimulationOptions one;
  SimulationOptions several;
  several.threads = GENERATE(2, 3);
  Simulation serial(spec, one);
  Simulation parallel(spec, several);
  while (!serial.finished()) {
    serial.step();
    parallel.step();
    const MetricsFrame& a = serial.metrics();
    const MetricsFrame& p = parallel.metrics();
    check_same_state(a, p);
    CHECK(a.shortage == p.shortage);
    CHECK(a.bloc_share == p.bloc_share);
    CHECK(a.total_dependency == p.total_dependency);
  }
}

TEST_CASE("A scenario-scoped run leaves out the breakdowns no one reads, and nothing else moves",
          "[model][schedule]") {
  techdep::ScenarioSpec spec =
      techdep::load_scenario(std::string(TECHDEP_SOURCE_DIR) + "/scenarios/sanctions-2022.yaml")
          .spec;
  spec.outputs.metrics = {techdep::Metric::SupplierShare, techdep::Metric::InstalledBase};
  spec.observations.clear();
  spec.rules.clear();
  SimulationOptions options;
  Simulation whole(spec, options);
  options.metrics = techdep::MetricScope::Scenario;
  Simulation scoped(spec, options);
  const auto russia = static_cast<techdep::CountryId>(
      std::find_if(spec.countries.begin(), spec.countries.end(),
                   [](const techdep::CountrySpec& c) { return c.id == "RUS"; }) -
      spec.countries.begin());
  REQUIRE(russia < static_cast<techdep::CountryId>(spec.countries.size()));
  bool sites_differ = false;
  while (!whole.finished()) {
    whole.step();
    scoped.step();
    const MetricsFrame& a = whole.metrics();
    const MetricsFrame& b = scoped.metrics();
    check_same_model_state(a, b);
    CHECK(a.installed_base == b.installed_base);
    CHECK(a.import_value == b.import_value);
    CHECK(a.import_unit_value == b.import_unit_value);
    CHECK(a.domestic_share == b.domestic_share);
    CHECK(b.shipper_share.empty());
    CHECK(b.site_share.empty());
    CHECK(b.import_value_by_brand.empty());
    CHECK(b.import_value_by_site.empty());
    CHECK(b.import_value_by_shipper.empty());
    sites_differ = sites_differ || a.site_share != a.supplier_share;
  }
  // The breakdown left out is a real one in this world (brands made abroad), not a copy.
  CHECK(sites_differ);
  CHECK_THROWS_AS(scoped.metrics().value(techdep::Metric::SiteShare, russia, 0, 0), std::logic_error);
  CHECK_NOTHROW(whole.metrics().value(techdep::Metric::SiteShare, russia, 0, 0));
}

TEST_CASE("What a scenario reads: its outputs (all when none are listed), observations, rules",
          "[model][schedule]") {
  techdep::ScenarioSpec spec = teaching_world(1);
  using techdep::Metric;
  using techdep::scenario_reads_metric;
  CHECK(scenario_reads_metric(spec, Metric::ImportValueBySite));  // no list: every metric
  spec.outputs.metrics = {Metric::Shortage};
  spec.observations.clear();
  spec.rules.clear();
  CHECK(scenario_reads_metric(spec, Metric::Shortage));
  CHECK_FALSE(scenario_reads_metric(spec, Metric::SiteShare));
  spec.observations.push_back({});
  spec.observations.back().metric = Metric::SiteShare;
  CHECK(scenario_reads_metric(spec, Metric::SiteShare));
  CHECK_FALSE(scenario_reads_metric(spec, Metric::InstalledBase));
  spec.rules.push_back({});
  spec.rules.back().metric = Metric::InstalledBase;
  CHECK(scenario_reads_metric(spec, Metric::InstalledBase));
}

TEST_CASE("A series' address is resolved once and reads its value at every step",
          "[model][schedule]") {
  // import-substitution has demand segments, so per-segment series are among those recorded.
  techdep::ScenarioSpec spec =
      techdep::load_scenario(std::string(TECHDEP_SOURCE_DIR) +
                             "/scenarios/import-substitution.yaml")
          .spec;
  const std::vector<techdep::SeriesKey> keys = techdep::selected_series(spec);
  Simulation simulation(spec, SimulationOptions{});
  std::vector<const double*> addresses;
  for (const techdep::SeriesKey& key : keys) {
    addresses.push_back(simulation.metrics().address(key.metric, key.country, key.sector,
                                                     key.partner, key.segment));
  }
  std::size_t moved = 0;
  for (int step = 0; step < 30; ++step) {
    simulation.step();
    const MetricsFrame& frame = simulation.metrics();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const techdep::SeriesKey& key = keys[i];
      const double value =
          frame.value(key.metric, key.country, key.sector, key.partner, key.segment);
      REQUIRE((*addresses[i] == value || (std::isnan(value) && std::isnan(*addresses[i]))));
      moved += step == 29 && value != 0.0 ? 1 : 0;
    }
  }
  CHECK(keys.size() > 500);
  CHECK(moved > 100);  // the values read are live ones, not zeros
}
