// Agent mode (docs/model.md "Agent mode"): firms and workers against aggregate mode, the
// statistics of the draws, rules, and reproducibility across seeds and thread counts.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/spec_builder.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/model/simulation.hpp"
#include "unit/scenario/scenario_test_support.hpp"

namespace {

using techdep::EventType;
using techdep::Metric;
using techdep::Mode;
using techdep::ScenarioSpec;
using techdep::test::SpecBuilder;

// A's chips cost `value` times as much from `step` on.
void price_of_a(SpecBuilder& b, int step, double value) {
  const int rise = b.add_event(EventType::Set, "price-rise", step);
  b.event(rise).parameter.kind = techdep::ParamRef::Kind::Price;
  b.event(rise).parameter.country = b.country("A");
  b.event(rise).parameter.sector = b.sector("chips");
  b.event(rise).value = value;
}

// C buys chips from A (0.5), B (0.3) and at home (0.2, capability 0.3). A restricts half of its
// flow at step 2 (the cap binds at once) and its price rises by 25% at step 8 (the targets move
// again while firms are still adjusting).
ScenarioSpec shock_world(int firms) {
  SpecBuilder b({"C", "A", "B"}, {"chips"}, 30);
  b.supply("C", "chips", {{"C", 0.2}, {"A", 0.5}, {"B", 0.3}}).capability("C", "chips", 0.3);
  b.export_control("control", 2, "A", "C", 0.5);
  price_of_a(b, 8, 1.25);
  ScenarioSpec spec = b.build();
  spec.agents.firms_per_cell = firms;
  spec.agents.workers_per_country = 10;
  return spec;
}

// Value of a country-sector-partner metric at every state 0..steps.
std::vector<double> path_of(const ScenarioSpec& spec, Metric metric, int country, int partner,
                            techdep::SimulationOptions options = {}) {
  techdep::Simulation sim(spec, options);
  std::vector<double> values{sim.metrics().value(metric, country, 0, partner)};
  while (!sim.finished()) {
    sim.step();
    values.push_back(sim.metrics().value(metric, country, 0, partner));
  }
  return values;
}

ScenarioSpec as_agents(ScenarioSpec spec, bool heterogeneity) {
  spec.mode = Mode::Agents;
  spec.agents.heterogeneity = heterogeneity;
  return spec;
}

}  // namespace

TEST_CASE("Identical firms follow the aggregate path within 1% when there are many", "[agents]") {
  // 10,000 firms: a firm reviews with probability lambda = 0.2 and jumps to the target, so the
  // expected path is aggregate mode's. The share a step leaves unadjusted is a binomial fraction:
  // its standard deviation is at most gap * 0.5 / sqrt(10,000) <= 0.5 * 0.005 = 0.0025 of a
  // share, at most 0.25% of the smallest share compared (0.2 domestic): 1% is four deviations.
  const ScenarioSpec aggregate = shock_world(10'000);
  const ScenarioSpec agents = as_agents(aggregate, false);
  for (const int origin : {0, 1, 2}) {
    const std::vector<double> expected = path_of(aggregate, Metric::SupplierShare, 0, origin);
    const std::vector<double> actual = path_of(agents, Metric::SupplierShare, 0, origin);
    REQUIRE(actual.size() == 31);
    for (std::size_t step = 0; step < actual.size(); ++step) {
      INFO("origin " << origin << ", step " << step);
      CHECK(actual[step] == Approx(expected[step]).epsilon(0.01));
    }
  }
  // The shortage the cut opens is small; it is compared with the same absolute tolerance
  // (0.005 is at least two deviations of the unreviewed fraction times the gap).
  const std::vector<double> shortage = path_of(agents, Metric::Shortage, 0, 0);
  const std::vector<double> expected_shortage = path_of(aggregate, Metric::Shortage, 0, 0);
  CHECK(expected_shortage[3] > 0.05);
  for (std::size_t step = 0; step < shortage.size(); ++step) {
    INFO("step " << step);
    CHECK(shortage[step] == Approx(expected_shortage[step]).margin(0.005));
  }
}

TEST_CASE("Firms choosing brand, production site and shipper follow the aggregate path too",
          "[agents]") {
  // C buys A-brand goods made half at A and half at B; B's half reaches C half through hub H.
  // A's control names its brand with enforcement 0.5 at B's site and evasion 0.6 (routes via H
  // and K): every option's share, the site and shipper views and the rerouted flow follow
  // aggregate mode within the same 1% bound as above.
  SpecBuilder b({"C", "A", "B", "H", "K"}, {"chips"}, 30);
  b.supply("C", "chips", {{"C", 0.2}, {"A", 0.8}}).capability("C", "chips", 0.3);
  b.raw().production_sites = {{0, b.country("A"), b.country("A"), 0.5},
                              {0, b.country("A"), b.country("B"), 0.5}};
  b.raw().shipping = {{b.country("C"), 0, b.country("B"), b.country("B"), 0.5},
                      {b.country("C"), 0, b.country("B"), b.country("H"), 0.5}};
  const int control = b.export_control("control", 2, "A", "C", 0.8, 0.6);
  b.event(control).scope = techdep::RestrictionScope::Brand;
  b.event(control).site_enforcement = {1.0, 1.0, 0.5, 1.0, 1.0};
  ScenarioSpec aggregate = b.build();
  aggregate.agents.firms_per_cell = 10'000;
  aggregate.agents.workers_per_country = 10;
  const ScenarioSpec agents = as_agents(aggregate, false);
  for (const Metric metric : {Metric::SupplierShare, Metric::SiteShare, Metric::ShipperShare}) {
    for (const int partner : {0, 1, 2, 3, 4}) {
      const std::vector<double> expected = path_of(aggregate, metric, 0, partner);
      const std::vector<double> actual = path_of(agents, metric, 0, partner);
      for (std::size_t step = 0; step < actual.size(); ++step) {
        INFO(techdep::metric_info(metric).name << " partner " << partner << ", step " << step);
        CHECK(actual[step] == Approx(expected[step]).epsilon(0.01).margin(0.002));
      }
    }
  }
  CHECK(path_of(aggregate, Metric::ShipperShare, 0, 4)[10] > 0.01);  // K relays: routes are used
}

TEST_CASE("Firms that review at different speeds leave a longer tail", "[agents]") {
  // Heterogeneous review probabilities lambda m_f with mean-1 multipliers: the part of demand not
  // yet reviewed after t steps is sum_f w_f (1 - lambda m_f)^t >= (1 - lambda)^t (Jensen), so
  // the gap to the target closes more slowly late on. With a log spread of 1 the slowest firms
  // review a few times less often: by step 28 the remaining gap is several times aggregate's.
  SpecBuilder b({"C", "A", "B"}, {"chips"}, 28);
  b.supply("C", "chips", {{"A", 0.6}, {"B", 0.4}});
  price_of_a(b, 1, 1.25);
  ScenarioSpec aggregate = b.build();
  aggregate.agents.firms_per_cell = 4000;
  aggregate.agents.workers_per_country = 10;
  aggregate.agents.review_spread = 1.0;
  aggregate.agents.risk_aversion_spread = 0.0;
  const double target = 0.6 * std::pow(1.25, -3.0) / (0.6 * std::pow(1.25, -3.0) + 0.4);
  const std::vector<double> expected = path_of(aggregate, Metric::SupplierShare, 0, 1);
  const std::vector<double> varied =
      path_of(as_agents(aggregate, true), Metric::SupplierShare, 0, 1);
  CHECK(expected[28] - target == Approx(std::pow(0.8, 27) * (0.6 - target)).margin(1e-12));
  CHECK(varied[28] - target > 3.0 * (expected[28] - target));
  CHECK(varied[28] > target);  // still on the same side: the same target, a slower approach
}

TEST_CASE("Risk-averse firms spread the response to distrust", "[agents]") {
  // kappa = 1; an incident raises C's distrust of A from 0 to 1 at step 1. A firm with risk
  // aversion r targets A's share 1 / (1 + (1 + r)^3) (A and B otherwise equal), a convex function
  // of r: with mean-1 risk aversion the mean share stays above the representative buyer's 1/9.
  SpecBuilder b({"C", "A", "B"}, {"chips"}, 80);
  b.supply("C", "chips", {{"A", 0.5}, {"B", 0.5}});
  b.sector_params("chips").security_sensitivity = 1.0;
  b.sector_params("chips").adjustment = 0.3;
  const int incident = b.add_event(EventType::CyberIncident, "incident", 1, {"A"}, {"C"});
  b.event(incident).distrust = 1.0;
  ScenarioSpec aggregate = b.build();
  aggregate.agents.firms_per_cell = 2000;
  aggregate.agents.workers_per_country = 10;
  aggregate.agents.review_spread = 0.0;
  aggregate.agents.risk_aversion_spread = 0.8;
  const double end_aggregate = path_of(aggregate, Metric::SupplierShare, 0, 1).back();
  CHECK(end_aggregate == Approx(1.0 / 9.0).margin(1e-9));
  const double end_varied = path_of(as_agents(aggregate, true), Metric::SupplierShare, 0, 1).back();
  CHECK(end_varied > end_aggregate + 0.01);
  // Without a spread every firm targets 1/9; after 80 steps (0.7^79 of demand unreviewed) so does
  // the mean.
  aggregate.agents.risk_aversion_spread = 0.0;
  const double end_same = path_of(as_agents(aggregate, true), Metric::SupplierShare, 0, 1).back();
  CHECK(end_same == Approx(1.0 / 9.0).margin(1e-9));
}

TEST_CASE("A world at rest stays at rest in agent mode", "[agents]") {
  SpecBuilder b({"C", "A", "B"}, {"chips", "software"}, 24);
  b.supply("C", "chips", {{"C", 0.1}, {"A", 0.6}, {"B", 0.3}}).capability("C", "chips", 0.2);
  b.supply("C", "software", {{"C", 0.5}, {"A", 0.5}});
  b.sector_params("chips").security_sensitivity = 0.5;
  b.raw().distrust[b.raw().pair_index(0, 1)] = 0.4;  // distrust already there at the start
  const ScenarioSpec spec = as_agents(b.build(), true);
  techdep::Simulation sim(spec);
  const techdep::MetricsFrame start = sim.metrics();
  while (!sim.finished()) sim.step();
  const techdep::MetricsFrame& end = sim.metrics();
  for (std::size_t i = 0; i < start.supplier_share.size(); ++i) {
    CHECK(end.supplier_share[i] == Approx(start.supplier_share[i]).margin(1e-12));
  }
  for (std::size_t c = 0; c < start.talent.size(); ++c) CHECK(end.talent[c] == start.talent[c]);
}

TEST_CASE("The number of leavers matches the hazard within binomial noise", "[agents]") {
  // 100,000 workers, hazard h = 0.01: leavers ~ Binomial(N, h) with identical workers. With
  // heterogeneity the probabilities h m_i have mean h (the multipliers are normalised to mean 1)
  // and the variance sum p_i (1 - p_i) is below N h (1 - h), so the same bound holds.
  constexpr double kWorkers = 100'000;
  constexpr double kHazard = 0.01;
  constexpr double kTalent = 1e6;
  for (const bool heterogeneity : {false, true}) {
    for (const std::uint64_t seed : {1ULL, 2ULL, 3ULL}) {
      SpecBuilder b({"X", "Y", "Z"}, {"chips"}, 1);
      b.country_params("X").talent = kTalent;
      b.country_params("X").base_emigration = kHazard;
      b.country_params("X").attraction = {0.0, 0.75, 0.25};
      ScenarioSpec spec = as_agents(b.build(), heterogeneity);
      spec.seed = seed;
      spec.agents.workers_per_country = static_cast<int>(kWorkers);
      spec.agents.firms_per_cell = 1;
      techdep::Simulation sim(spec);
      sim.step();
      const double leavers = sim.metrics().value(Metric::Emigrants, 0, 0, 0) * kWorkers / kTalent;
      INFO("heterogeneity " << heterogeneity << ", seed " << seed << ", leavers " << leavers);
      CHECK(leavers == Approx(std::round(leavers)).margin(1e-6));  // whole agents
      CHECK(std::abs(leavers - kWorkers * kHazard) <=
            4.0 * std::sqrt(kWorkers * kHazard * (1.0 - kHazard)));
      // Y and Z gain exactly the leavers' persons, nobody else moves.
      const techdep::MetricsFrame& frame = sim.metrics();
      CHECK(frame.value(Metric::Talent, 0, 0, 0) ==
            Approx(kTalent - frame.value(Metric::Emigrants, 0, 0, 0)).margin(1e-6));
      CHECK(frame.value(Metric::Talent, 1, 0, 0) + frame.value(Metric::Talent, 2, 0, 0) ==
            Approx(2000.0 + frame.value(Metric::Emigrants, 0, 0, 0)).margin(1e-6));
    }
  }
}

TEST_CASE("Workers return at their rate and the diaspora stays consistent", "[agents]") {
  // Everyone leaves at step 0 (hazard 1); from then on each worker abroad returns with
  // probability 0.1: after the second step the returns are Binomial(N, 0.1) agents.
  constexpr double kWorkers = 20'000;
  SpecBuilder b({"X", "Y"}, {"chips"}, 2);
  b.country_params("X").talent = kWorkers;
  b.country_params("X").base_emigration = 1.0;
  b.country_params("X").return_rate = 0.1;
  b.country_params("X").attraction = {0.0, 1.0};
  ScenarioSpec spec = as_agents(b.build(), false);
  spec.agents.workers_per_country = static_cast<int>(kWorkers);
  techdep::Simulation sim(spec);
  sim.step();
  CHECK(sim.metrics().value(Metric::Diaspora, 0, 0, 0) == Approx(kWorkers));
  sim.step();
  const double returns = sim.metrics().value(Metric::Returns, 0, 0, 0);
  CHECK(std::abs(returns - 0.1 * kWorkers) <= 4.0 * std::sqrt(kWorkers * 0.1 * 0.9));
  CHECK(sim.metrics().value(Metric::Diaspora, 0, 0, 0) ==
        Approx(sim.metrics().value(Metric::Emigrants, 0, 0, 0) - returns));
}

TEST_CASE("Rules fire when their condition first holds and respect the cooldown in agent mode",
          "[agents]") {
  // Emigration is random in agent mode; whatever the path, a rule fires at the first step its
  // metric holds, then again only when it holds and the cooldown has passed.
  SpecBuilder b({"X", "Y"}, {"chips"}, 30);
  b.country_params("X").talent = 10'000;
  b.country_params("X").base_emigration = 0.02;
  b.country_params("X").attraction = {0.0, 1.0};
  ScenarioSpec spec = as_agents(b.build(), true);
  spec.agents.workers_per_country = 2000;
  for (const bool once : {true, false}) {
    techdep::RuleSpec rule;
    rule.id = "restrict";
    rule.metric = Metric::Emigrants;
    rule.country = 0;
    rule.threshold = 1500.0;
    rule.once = once;
    rule.cooldown_steps = 4;
    rule.source = "assumption";
    rule.then.type = EventType::ExitRestriction;
    rule.then.to = {0};
    rule.then.level = 0.2;
    spec.rules = {rule};
    techdep::Simulation sim(spec);
    std::vector<double> emigrants{0.0};
    while (!sim.finished()) {
      sim.step();
      emigrants.push_back(sim.metrics().value(Metric::Emigrants, 0, 0, 0));
    }
    std::vector<int> expected;
    for (int step = 1; step < static_cast<int>(emigrants.size()); ++step) {
      if (!(emigrants[static_cast<std::size_t>(step)] > rule.threshold)) continue;
      if (!expected.empty() && (once || step - expected.back() < rule.cooldown_steps)) continue;
      expected.push_back(step);
    }
    std::vector<int> fired;
    for (const techdep::RuleFiring& firing : sim.rule_firings()) {
      fired.push_back(firing.step);
      CHECK(firing.condition_value == emigrants[static_cast<std::size_t>(firing.step)]);
    }
    INFO("once " << once);
    REQUIRE_FALSE(expected.empty());
    CHECK(fired == expected);
    if (!once) CHECK(fired.size() > 2);
  }
}

TEST_CASE("Agent runs are reproducible: same seed same bytes for 1 and 2 threads", "[agents]") {
  const std::string scenario = std::string(TECHDEP_SOURCE_DIR) + "/scenarios/teaching-world.yaml";
  const techdep::test::TempDir dir("agents-runs");
  const auto read = [](const std::filesystem::path& path) {
    std::ifstream stream(path, std::ios::binary);
    std::ostringstream text;
    text << stream.rdbuf();
    return text.str();
  };
  const auto run = [&](const std::string& name, int threads, std::uint64_t seed) {
    techdep::RunRequest request;
    request.scenario_path = scenario;
    request.overrides = {{"mode=agents"},
                         {"time.steps=48"},
                         {"agents.firms_per_cell=40"},
                         {"agents.workers_per_country=500"}};
    request.seed = seed;
    request.threads = threads;
    request.out_dir = std::filesystem::path(dir.file(name));
    techdep::run_scenario(request);
    return read(std::filesystem::path(dir.file(name)) / "timeseries.csv");
  };
  const std::string one = run("one", 1, 11);
  CHECK(one == run("two", 2, 11));
  CHECK(one == run("again", 1, 11));
  CHECK(one != run("other", 2, 12));
  const nlohmann::json manifest =
      nlohmann::json::parse(read(std::filesystem::path(dir.file("one")) / "manifest.json"));
  CHECK(manifest["mode"] == "agents");
  CHECK(manifest["runs"][0]["seed"] == techdep::run_seed(11, 0));
}

TEST_CASE("Agent populations too large for memory are refused before allocating", "[agents]") {
  // 10 countries, 1 sector, each buying only at home: 1e7 firms per cell x 10 cells x (1 option
  // + 3 attributes) doubles = 3.2 GB, 1e8 workers per country x 10 x 20 bytes = 20 GB: each count
  // is within its range, together too much.
  SpecBuilder b({"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}, {"chips"}, 1);
  ScenarioSpec spec = as_agents(b.build(), true);
  spec.agents.firms_per_cell = 10'000'000;
  spec.agents.workers_per_country = 100'000'000;
  CHECK_THROWS_WITH(techdep::Simulation(spec),
                    "agents: 10000000 firms per cell and 100000000 workers per country need "
                    "23.2 GB for this world (10 countries, 1 sectors); at most 16 GB");
}

TEST_CASE("The agents section is validated with located errors", "[agents]") {
  const techdep::test::TempDir dir("agents");
  const std::string base = R"(schema_version: 1
name: agents-check
mode: agents
time: {steps: 2}
countries: {X: {talent: 100}}
sectors: {chips: {world_supply: {X: 1}}}
)";
  const techdep::LoadedScenario good = techdep::load_scenario(dir.write(
      "good.yaml", base + "agents: {firms_per_cell: 7, heterogeneity: false, network_weight: 0}\n"));
  CHECK(good.spec.mode == Mode::Agents);
  CHECK(good.spec.agents.firms_per_cell == 7);
  CHECK_FALSE(good.spec.agents.heterogeneity);
  CHECK(good.spec.agents.network_weight == 0.0);
  CHECK(good.spec.agents.workers_per_country == 1000);  // the default

  const std::vector<techdep::Diagnostic> errors = techdep::test::load_errors(dir.write(
      "bad.yaml", base + "agents: {firm_size_shape: 2, workers_per_country: 0, firm_count: 3}\n"));
  REQUIRE(errors.size() == 3);
  std::vector<std::string> messages;
  for (const techdep::Diagnostic& error : errors) messages.push_back(error.message);
  CHECK_THAT(messages[0] + messages[1] + messages[2],
             Catch::Contains("agents.firm_size_shape: 2 is out of range, expected > 2") &&
                 Catch::Contains("agents.workers_per_country: 0 is out of range") &&
                 Catch::Contains("unknown key 'firm_count'"));
  for (const techdep::Diagnostic& error : errors) CHECK(error.where.line == 7);
}

namespace {

techdep::SegmentSpec buyer_segment(const std::string& id, double elasticity, double sensitivity,
                                   bool served_first = false) {
  techdep::SegmentSpec out;
  out.id = id;
  out.name = id;
  out.elasticity = elasticity;
  out.security_sensitivity = sensitivity;
  out.served_first = served_first;
  return out;
}

// C's chip demand split into the state (price-insensitive, twice as wary, bound by a domestic
// mandate from step 10), defence (served first) and firms (price-sensitive, slow). A cuts half
// of its flow at step 2 with 30% evasion through H; an incident at step 6 raises C's distrust of
// A: every part of a segment's target step is exercised.
// Without the shocks, C distrusts A already at the start and A's restriction is in force.
ScenarioSpec segmented_world(int firms, bool shocks = true) {
  SpecBuilder b({"C", "A", "B", "H"}, {"chips"}, 40);
  b.supply("C", "chips", {{"C", 0.2}, {"A", 0.5}, {"B", 0.3}}).capability("C", "chips", 0.3);
  b.sector_params("chips").security_sensitivity = 1.0;
  b.export_control("control", shocks ? 2 : 0, "A", "C", 0.5, 0.3);
  if (shocks) {
    const int incident = b.add_event(EventType::CyberIncident, "incident", 6, {"A"}, {"C"});
    b.event(incident).distrust = 0.5;
    const int decree = b.add_event(EventType::Mandate, "decree", 10, {}, {"C"});
    b.event(decree).domestic_share = 1.0;
    b.event(decree).segments = {0};
  } else {
    b.raw().distrust[b.raw().pair_index(0, 1)] = 0.5;
  }
  ScenarioSpec spec = b.build();
  spec.segments = {buyer_segment("state", 0.5, 2.0), buyer_segment("defence", 0.2, 3.0, true),
                   buyer_segment("firms", 2.0, 1.0)};
  spec.segments[2].adjustment = 0.5;
  const std::vector<double> weights{0.2, 0.1, 0.7};
  for (std::size_t g = 0; g < weights.size(); ++g) {
    spec.demand_segments.push_back(
        techdep::SegmentShare{0, 0, static_cast<int>(g), weights[g], g == 0 ? 0.4 : -1.0});
  }
  spec.agents.firms_per_cell = firms;
  spec.agents.workers_per_country = 10;
  return spec;
}

// A segment's (or, with segment -1, the whole cell's) value at every state 0..steps.
std::vector<double> segment_path(const ScenarioSpec& spec, Metric metric, int partner,
                                 int segment) {
  techdep::Simulation sim(spec);
  std::vector<double> values{sim.metrics().value(metric, 0, 0, partner, segment)};
  while (!sim.finished()) {
    sim.step();
    values.push_back(sim.metrics().value(metric, 0, 0, partner, segment));
  }
  return values;
}

void check_segments_follow(const ScenarioSpec& aggregate, const ScenarioSpec& agents,
                           const char* which) {
  INFO(which);
  for (int segment = -1; segment < 3; ++segment) {
    for (const int origin : {0, 1, 2, 3}) {
      const std::vector<double> expected =
          segment_path(aggregate, Metric::SupplierShare, origin, segment);
      const std::vector<double> actual = segment_path(agents, Metric::SupplierShare, origin, segment);
      for (std::size_t step = 0; step < actual.size(); ++step) {
        INFO("segment " << segment << ", origin " << origin << ", step " << step);
        CHECK(actual[step] == Approx(expected[step]).epsilon(0.01).margin(0.003));
      }
    }
    const std::vector<double> gap = segment_path(agents, Metric::ComplianceGap, -1, segment);
    const std::vector<double> expected_gap =
        segment_path(aggregate, Metric::ComplianceGap, -1, segment);
    for (std::size_t step = 0; step < gap.size(); ++step) {
      INFO("segment " << segment << ", step " << step);
      CHECK(gap[step] == Approx(expected_gap[step]).margin(0.005));
    }
  }
}

}  // namespace

TEST_CASE("Firms in demand segments follow the aggregate segments", "[agents][segments]") {
  // 30,000 firms, 10,000 per segment: each segment's path within the bound of the whole-cell
  // test above (1%, four binomial deviations at 10,000 firms), with a 0.003 margin for the
  // smallest shares.
  const ScenarioSpec aggregate = segmented_world(30'000);
  // The state's rule binds and is not met, and defence keeps more of A's chips than the firms:
  // the comparison runs where the segments differ.
  CHECK(segment_path(aggregate, Metric::ComplianceGap, -1, 0).back() > 0.1);
  CHECK(segment_path(aggregate, Metric::SupplierShare, 1, 1).back() >
        segment_path(aggregate, Metric::SupplierShare, 1, 2).back() + 0.05);
  check_segments_follow(aggregate, as_agents(aggregate, false), "identical firms");

  // Firms that each compute their own target (risk aversion on, with a negligible spread, and
  // near-equal sizes) reproduce their segment's target: its elasticity, its distrust weight
  // measured from its own start, and, for defence, restrictions by quantity alone.
  ScenarioSpec own = as_agents(aggregate, true);
  own.agents.review_spread = 0.0;
  own.agents.risk_aversion_spread = 1e-9;
  own.agents.firm_size_shape = 1e6;
  check_segments_follow(aggregate, own, "own targets");
}

TEST_CASE("A world split into segments stays at rest in agent mode", "[agents][segments]") {
  // Heterogeneous firms (sizes, review speeds, risk aversion) in each segment, distrust and a
  // restriction already in force, the state at its own start share: nothing moves.
  const ScenarioSpec spec = as_agents(segmented_world(300, false), true);
  techdep::Simulation sim(spec);
  std::vector<double> start;
  for (int segment = -1; segment < 3; ++segment) {
    for (const int origin : {0, 1, 2, 3}) {
      start.push_back(sim.metrics().value(Metric::SupplierShare, 0, 0, origin, segment));
    }
  }
  CHECK(start[4] == Approx(0.4));  // the state's own start
  while (!sim.finished()) sim.step();
  std::size_t i = 0;
  for (int segment = -1; segment < 3; ++segment) {
    for (const int origin : {0, 1, 2, 3}) {
      INFO("segment " << segment << ", origin " << origin);
      CHECK(sim.metrics().value(Metric::SupplierShare, 0, 0, origin, segment) ==
            Approx(start[i++]).margin(1e-12));
    }
  }
}

TEST_CASE("Agent mode refuses fewer firms per cell than demand segments", "[agents][segments]") {
  // The loader reports this with a location; a spec built in code must not divide by an empty
  // group either.
  const ScenarioSpec spec = as_agents(segmented_world(2), true);
  CHECK_THROWS_WITH(techdep::Simulation(spec),
                    Catch::Contains("2 firms per cell cannot cover the 3 demand segments"));
}
