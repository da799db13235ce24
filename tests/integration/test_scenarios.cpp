// Every shipped scenario validates, runs to its end with the model's invariants checked, and
// holds the expectation docs/scenarios.md states for it. The stories are asserted on the model's
// own numbers; each check says which mechanism makes it hold.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace fs = std::filesystem;
using techdep::Metric;
using techdep::MetricsFrame;
using techdep::ScenarioSpec;

namespace {

const fs::path kScenarios = fs::path(TECHDEP_SOURCE_DIR) / "scenarios";

/// A scenario run to its end: the spec and the metrics of every step (t = 0 included).
struct ScenarioRun {
  ScenarioSpec spec;
  std::vector<MetricsFrame> frames;

  int country(const std::string& id) const { return index_of(spec.countries, id); }
  int sector(const std::string& id) const { return index_of(spec.sectors, id); }
  int bloc(const std::string& id) const { return index_of(spec.blocs, id); }
  int segment(const std::string& id) const { return index_of(spec.segments, id); }
  int event_index(const std::string& id) const { return index_of(spec.events, id); }
  const techdep::EventSpec& event(const std::string& id) const {
    return spec.events[static_cast<std::size_t>(event_index(id))];
  }
  int last_step() const { return static_cast<int>(frames.size()) - 1; }

  /// A country-sector(-partner) value; partner is a country id, or a bloc id for bloc_share.
  double at(int step, Metric metric, const std::string& country_id,
            const std::string& sector_id = "", const std::string& partner_id = "") const {
    const int partner = partner_id.empty()         ? -1
                        : metric == Metric::BlocShare ? bloc(partner_id)
                                                      : country(partner_id);
    return frames.at(static_cast<std::size_t>(step))
        .value(metric, country(country_id), sector_id.empty() ? -1 : sector(sector_id), partner);
  }
  double at_end(Metric metric, const std::string& country_id, const std::string& sector_id = "",
                const std::string& partner_id = "") const {
    return at(last_step(), metric, country_id, sector_id, partner_id);
  }
  /// A per-segment metric of one demand segment of a cell.
  double segment_at(int step, Metric metric, const std::string& country_id,
                    const std::string& sector_id, const std::string& segment_id) const {
    return frames.at(static_cast<std::size_t>(step))
        .value(metric, country(country_id), sector(sector_id), -1, segment(segment_id));
  }
  /// A bloc's share of one demand segment: its members' supplier shares in that segment.
  double bloc_share_of_segment(int step, const std::string& country_id,
                               const std::string& sector_id, const std::string& bloc_id,
                               const std::string& segment_id) const {
    const MetricsFrame& frame = frames.at(static_cast<std::size_t>(step));
    double share = 0.0;
    for (const techdep::CountryId member : spec.blocs[static_cast<std::size_t>(bloc(bloc_id))].members) {
      share += frame.value(Metric::SupplierShare, country(country_id), sector(sector_id), member,
                           segment(segment_id));
    }
    return share;
  }

 private:
  template <typename Items>
  static int index_of(const Items& items, const std::string& id) {
    for (std::size_t index = 0; index < items.size(); ++index) {
      if (items[index].id == id) return static_cast<int>(index);
    }
    FAIL("no '" << id << "' in the scenario");
    return -1;
  }
};

// Shares are fractions of demand; with the invariants checked after every phase by the
// Simulation itself, these are the bounds a reader relies on.
void check_bounds(const MetricsFrame& frame, const std::string& scenario) {
  const auto in_unit = [](const std::vector<double>& values) {
    return std::all_of(values.begin(), values.end(), [](double value) {
      return std::isnan(value) || (value >= -1e-12 && value <= 1.0 + 1e-12);
    });
  };
  INFO(scenario << " at step " << frame.step);
  CHECK(in_unit(frame.domestic_share));
  CHECK(in_unit(frame.import_share));
  CHECK(in_unit(frame.shortage));
  CHECK(in_unit(frame.supplier_share));
  CHECK(in_unit(frame.shipper_share));
  CHECK(in_unit(frame.bloc_share));
  CHECK(std::all_of(frame.talent.begin(), frame.talent.end(),
                    [](double value) { return std::isfinite(value) && value >= 0.0; }));
}

/// Runs a shipped scenario once per test process (a scenario is deterministic, so a cached run
/// is the run) with every invariant checked after every phase.
const ScenarioRun& run_of(const std::string& name) {
  static std::map<std::string, ScenarioRun> cache;  // test-only memo: runs take a second each
  if (const auto found = cache.find(name); found != cache.end()) return found->second;
  ScenarioRun run;
  run.spec = techdep::load_scenario((kScenarios / (name + ".yaml")).string()).spec;
  techdep::SimulationOptions options;
  options.check_invariants = true;
  techdep::Simulation simulation(run.spec, options);
  run.frames.push_back(simulation.metrics());
  while (!simulation.finished()) {
    simulation.step();
    run.frames.push_back(simulation.metrics());
    // total_dependency is NaN outside the output countries and unused here: keep memory small.
    run.frames.back().total_dependency.clear();
  }
  run.frames.front().total_dependency.clear();
  return cache.emplace(name, std::move(run)).first->second;
}

int step_of(const ScenarioRun& run, const std::string& date) {
  for (int step = 0; step <= run.last_step(); ++step) {
    if (techdep::step_label(run.spec.time, step) == date) return step;
  }
  FAIL("no step labelled " << date);
  return -1;
}

/// The model's value of an observation at a step, as observations.csv reports it: a partner
/// metric named by a bloc is the sum over its members.
double model_value(const ScenarioRun& run, const techdep::ObservationSpec& observation,
                   std::size_t step) {
  const MetricsFrame& frame = run.frames.at(step);
  const techdep::MetricShape shape = techdep::metric_info(observation.metric).shape;
  if (shape == techdep::MetricShape::CountrySectorPartner && observation.bloc >= 0) {
    double sum = 0.0;
    for (const int member : run.spec.blocs.at(static_cast<std::size_t>(observation.bloc)).members) {
      sum += frame.value(observation.metric, observation.country, observation.sector, member,
                         observation.segment);
    }
    return sum;
  }
  return frame.value(observation.metric, observation.country, observation.sector,
                     shape == techdep::MetricShape::CountrySectorBloc ? observation.bloc
                                                                      : observation.partner,
                     observation.segment);
}
double model_value(const ScenarioRun& run, const techdep::ObservationSpec& observation) {
  return model_value(run, observation, static_cast<std::size_t>(observation.step));
}

/// Whether the observation of `fact` (of `metric`, when a fact has several) is met.
bool within_tolerance(const ScenarioRun& run, const std::string& fact,
                      std::optional<Metric> metric = std::nullopt) {
  for (const techdep::ObservationSpec& observation : run.spec.observations) {
    if (observation.fact == fact && (!metric || observation.metric == *metric)) {
      return std::abs(model_value(run, observation) - observation.value) <= observation.tolerance;
    }
  }
  FAIL("no observation of " << fact);
  return false;
}

}  // namespace

TEST_CASE("Every shipped scenario validates and runs to its end within bounds", "[scenarios]") {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(kScenarios)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 15);
  for (const std::string& name : names) {
    INFO(name);
    const ScenarioRun& run = run_of(name);
    CHECK(run.last_step() == run.spec.time.steps);
    for (const MetricsFrame& frame : run.frames) check_bounds(frame, name);
  }
}

TEST_CASE("world-2021 holds its 2021 observations at every step (a fixed point)", "[scenarios]") {
  const ScenarioRun& run = run_of("world-2021");
  REQUIRE(run.spec.events.empty());
  for (const techdep::ObservationSpec& observation : run.spec.observations) {
    INFO(observation.fact);
    CHECK(std::abs(model_value(run, observation) - observation.value) <= observation.tolerance);
    // With no events nothing moves: the last step equals the first.
    CHECK(model_value(run, observation, run.frames.size() - 1) ==
          Approx(model_value(run, observation, 0)).margin(1e-12));
  }
}

TEST_CASE("sanctions-2022 meets its 2022 observations except the documented misses",
          "[scenarios]") {
  const ScenarioRun& run = run_of("sanctions-2022");
  for (const char* fact : {"TR7", "TR8", "SB3", "TE3", "BD2", "BD1"}) {
    INFO(fact);
    CHECK(within_tolerance(run, fact));
  }
  // docs/calibration.md: the early dip in import value is shallower than the dual-use fact (TR21),
  // and the large-transaction sample of TR27 has more US brands and more Chinese shippers than
  // the model's whole-market chip imports.
  CHECK_FALSE(within_tolerance(run, "TR21"));
  CHECK_FALSE(within_tolerance(run, "TR27", Metric::ImportValueByBrand));
  // The known miss (docs/calibration.md): domestic producers only win demand nobody foreign can
  // serve, so once Chinese gear flows again Russian vendors stall well below TE1's 0.252.
  CHECK_FALSE(within_tolerance(run, "TE1"));
  CHECK(run.at(step_of(run, "2022-12"), Metric::DomesticShare, "RUS", "telecom_equipment") <
        0.252 - 0.06);
  // import-substitution adds the state-directed purchases (TE2) that explain TE1.
  CHECK(within_tolerance(run_of("import-substitution"), "TE1"));
}

TEST_CASE("kaspersky-ban: Russia's share of US security software is 0 after 2024-09-29",
          "[scenarios]") {
  const ScenarioRun& run = run_of("kaspersky-ban");
  const techdep::EventSpec& ban = run.event("kaspersky-ban");
  const double before = run.at(0, Metric::SupplierShare, "USA", "cybersecurity_software", "RUS");
  CHECK(before == Approx(0.01).margin(1e-12));  // KA10, W-CYB3: about 1%
  // Untouched until the ban starts (nothing else in the story reaches US security software).
  for (int step = 0; step < ban.at_step; ++step) {
    CHECK(run.at(step, Metric::SupplierShare, "USA", "cybersecurity_software", "RUS") ==
          Approx(before).margin(1e-12));
  }
  // An import ban allows no evasion, so once it is at full level (the step after 2024-09-29,
  // the end of its ramp) nothing is left, and it stays so.
  const int full = step_of(run, "2024-10");
  REQUIRE(ban.until_step <= full);
  for (int step = full; step <= run.last_step(); ++step) {
    CHECK(run.at(step, Metric::SupplierShare, "USA", "cybersecurity_software", "RUS") == 0.0);
  }
  CHECK(within_tolerance(run, "KA4"));
}

TEST_CASE("thaw-2026: what sticks after the thaw, and without lock-in dependency returns",
          "[scenarios]") {
  const ScenarioRun& thaw = run_of("thaw-2026");
  const ScenarioRun& unlocked = run_of("thaw-2026-no-lock-in");
  const ScenarioRun& kept = run_of("import-substitution");
  const int lift = step_of(thaw, "2026-01");
  const int before_lift = lift - 1;
  // Until the lifts the thaw and the sanctions that stay are the same scenario.
  CHECK(thaw.at(before_lift, Metric::Sovereignty, "RUS") ==
        kept.at(before_lift, Metric::Sovereignty, "RUS"));

  const auto west = [](const ScenarioRun& run, int step, const char* sector) {
    return run.at(step, Metric::BlocShare, "RUS", sector, "west");
  };
  for (const char* sector : {"semiconductors", "telecom_equipment", "payments"}) {
    INFO(sector);
    const double prewar = west(unlocked, 0, sector);
    const double lifted = west(unlocked, before_lift, sector);
    const double end = unlocked.at_end(Metric::BlocShare, "RUS", sector, "west");
    // Without lock-in nothing holds buyers once Western supply is allowed again: more than half
    // of the lost share returns by 2029...
    CHECK(end > lifted + 0.5 * (prewar - lifted));
    // ...but not all of it: learning lowered the domestic price.
    CHECK(end < prewar);
    // With lock-in less of it returns.
    CHECK(thaw.at_end(Metric::BlocShare, "RUS", sector, "west") < end - 0.02);
  }
  // Chips, with the lowest switching costs and no network, win back a larger part of their loss
  // than telecom gear (operators' networks) and payments (Mir's network). Compared in the private
  // firms' segment, which no procurement rule binds: in the whole of chip demand the state's
  // segment stays under Decree 878's ban after the thaw and defence never lost its Western chips
  // (served first from relayed supply, SB4), so part of the whole's loss is not contestable.
  const auto regained = [&](const char* sector) {
    const auto firms = [&](int step) {
      return thaw.bloc_share_of_segment(step, "RUS", sector, "west", "firms");
    };
    return (firms(thaw.last_step()) - firms(before_lift)) / (firms(0) - firms(before_lift));
  };
  CHECK(regained("semiconductors") > regained("telecom_equipment"));
  CHECK(regained("semiconductors") > 0.4);
  const auto regained_whole = [&](const char* sector) {
    const double lifted = west(thaw, before_lift, sector);
    return (thaw.at_end(Metric::BlocShare, "RUS", sector, "west") - lifted) /
           (west(thaw, 0, sector) - lifted);
  };
  CHECK(regained_whole("telecom_equipment") > regained_whole("payments"));
  // The state's chip demand is all Russian by 2029 (the ban binds it whatever the West offers),
  // while defence still buys Western chips as it did in 2021.
  CHECK(thaw.bloc_share_of_segment(thaw.last_step(), "RUS", "semiconductors", "west", "state") <
        0.05);
  CHECK(thaw.bloc_share_of_segment(thaw.last_step(), "RUS", "semiconductors", "west", "defence") >
        0.7);
  // Payments: Mir's network holds the cardholders it gained (HY8); Visa and Mastercard do not
  // come back, where without the network effect they regain most of their 2021 share.
  CHECK(thaw.at_end(Metric::BlocShare, "RUS", "payments", "west") < 0.1);
  CHECK(thaw.at_end(Metric::DomesticShare, "RUS", "payments") > 0.9);
  CHECK(unlocked.at_end(Metric::BlocShare, "RUS", "payments", "west") > 0.6);

  // Where the CII mandate and telecom procurement floor bind, domestic shares hold after the
  // thaw (within 1% of their level at the lift).
  for (const char* sector : {"operating_systems", "telecom_equipment"}) {
    INFO(sector);
    CHECK(thaw.at_end(Metric::DomesticShare, "RUS", sector) >=
          0.99 * thaw.at(before_lift, Metric::DomesticShare, "RUS", sector));
  }
  // Without lock-in overall sovereignty falls back, though not to 2021's; with it, it holds.
  CHECK(unlocked.at_end(Metric::Sovereignty, "RUS") <
        unlocked.at(before_lift, Metric::Sovereignty, "RUS"));
  CHECK(unlocked.at_end(Metric::Sovereignty, "RUS") > unlocked.at(0, Metric::Sovereignty, "RUS"));
  CHECK(thaw.at_end(Metric::Sovereignty, "RUS") >=
        thaw.at(before_lift, Metric::Sovereignty, "RUS"));
  // Each switched-off mechanism gives back part of what the thaw keeps: none carries it alone.
  for (const char* variant : {"thaw-2026-no-switching-cost", "thaw-2026-no-network-effect",
                              "thaw-2026-no-reentry-cost", "thaw-2026-no-lasting-distrust"}) {
    INFO(variant);
    const double sovereignty = run_of(variant).at_end(Metric::Sovereignty, "RUS");
    CHECK(sovereignty < thaw.at_end(Metric::Sovereignty, "RUS"));
    CHECK(sovereignty > unlocked.at_end(Metric::Sovereignty, "RUS"));
  }
}

TEST_CASE("hub-enforcement closes each route, and the flow moves on to the next hub",
          "[scenarios]") {
  const ScenarioRun& run = run_of("hub-enforcement");
  const ScenarioRun& open = run_of("china-rise-hubs");
  const techdep::EventSpec& kazakh = run.event("kazakh-route-closed");
  const auto shipped = [](const ScenarioRun& which, int step, const char* hub) {
    return which.at(step, Metric::ShipperShare, "RUS", "semiconductors", hub);
  };
  // Kazakhstan relays Western chips to Russia until its ban, and nothing once the ban is at full
  // level (enforcement cuts a hub's relays in proportion to its level).
  CHECK(shipped(run, kazakh.at_step - 1, "KAZ") > 0.03);
  for (int step = kazakh.until_step + 1; step <= run.last_step(); ++step) {
    CHECK(shipped(run, step, "KAZ") == 0.0);
  }
  // The listed hubs are closed once the hub rule (fired in 2022, six months' ramp) is in force.
  const int mid_2023 = step_of(run, "2023-06");
  for (const char* hub : {"ARM", "KGZ", "ARE"}) {
    INFO(hub);
    CHECK(shipped(run, mid_2023, hub) == 0.0);
    CHECK(shipped(open, mid_2023, hub) > 0.0);
  }
  // Whack-a-mole: the flow moves on to the hubs still open. Turkey ships more than it did before
  // Kazakhstan closed, and more than it does where every hub stays open; rerouting barely falls.
  CHECK(shipped(run, run.last_step(), "TUR") > shipped(run, kazakh.at_step - 1, "TUR") + 0.005);
  CHECK(shipped(run, run.last_step(), "TUR") > shipped(open, open.last_step(), "TUR"));
  CHECK(run.at_end(Metric::ReroutedShare, "RUS", "semiconductors") >
        0.8 * open.at_end(Metric::ReroutedShare, "RUS", "semiconductors"));
  // Hong Kong, which shipped a quarter of Russia's chips before the war (TR4), stays below the
  // 35% that would trigger pressure on it.
  CHECK(shipped(run, run.last_step(), "HKG") < 0.35);
  CHECK(shipped(run, 0, "HKG") > 0.2);
}

TEST_CASE("no-china raises Russia's chip shortage against sanctions-2022", "[scenarios]") {
  const ScenarioRun& base = run_of("sanctions-2022");
  const ScenarioRun& no_china = run_of("no-china");
  const int end_2022 = step_of(base, "2022-12");
  // China filled most of the gap; without it the shortage stays higher through 2022.
  CHECK(no_china.at(end_2022, Metric::Shortage, "RUS", "semiconductors") >
        base.at(end_2022, Metric::Shortage, "RUS", "semiconductors") + 0.05);
  CHECK(no_china.at(end_2022, Metric::SupplierShare, "RUS", "semiconductors", "CHN") <
        base.at(end_2022, Metric::SupplierShare, "RUS", "semiconductors", "CHN"));
}

TEST_CASE("faster-brain-drain lowers Russia's talent against sanctions-2022", "[scenarios]") {
  const ScenarioRun& base = run_of("sanctions-2022");
  const ScenarioRun& fast = run_of("faster-brain-drain");
  const int second_wave = step_of(base, "2022-09");
  for (int step = second_wave + 1; step <= base.last_step(); ++step) {
    CHECK(fast.at(step, Metric::Talent, "RUS") < base.at(step, Metric::Talent, "RUS"));
  }
  CHECK(fast.at_end(Metric::Emigrants, "RUS") > base.at_end(Metric::Emigrants, "RUS"));
}

TEST_CASE("import-substitution raises Russia's domestic shares against sanctions-2022",
          "[scenarios]") {
  const ScenarioRun& base = run_of("sanctions-2022");
  const ScenarioRun& drive = run_of("import-substitution");
  // Investment, mandates and procurement add domestic demand or capability in the sectors they
  // target. (Untargeted sectors may move a little either way through input prices: cloud and AI
  // end 0.0002 lower, so no claim is made about them.)
  for (const char* sector : {"semiconductors", "operating_systems", "enterprise_software",
                             "telecom_equipment"}) {
    INFO(sector);
    CHECK(drive.at_end(Metric::DomesticShare, "RUS", sector) >
          base.at_end(Metric::DomesticShare, "RUS", sector) + 0.01);
  }
  CHECK(drive.at_end(Metric::Sovereignty, "RUS") > base.at_end(Metric::Sovereignty, "RUS"));

  // Per segment: the state's software at the end of 2022 against DS1 (0.54 of state customers'
  // purchases Russian by value; 0.1 is the part that is mixed or of unknown origin, not fitted).
  const int end_2022 = step_of(drive, "2022-12");
  CHECK(drive.segment_at(end_2022, Metric::DomesticShare, "RUS", "enterprise_software", "state") ==
        Approx(0.5419).margin(0.1));
  // Decree 166 is not met at its deadline: the CII operators keep foreign systems, a compliance
  // gap and not a shortage (their shortage, left by the vendors' 2022 exits, is no larger than
  // the firms' without the rule), and capability goes to them first, ahead of private firms.
  const int deadline = step_of(drive, "2025-01");
  CHECK(drive.segment_at(deadline, Metric::ComplianceGap, "RUS", "operating_systems", "cii") >
        0.3);
  CHECK(drive.segment_at(deadline, Metric::Shortage, "RUS", "operating_systems", "cii") <=
        drive.segment_at(deadline, Metric::Shortage, "RUS", "operating_systems", "firms"));
  CHECK(drive.segment_at(drive.last_step(), Metric::DomesticShare, "RUS", "operating_systems",
                         "cii") >
        drive.segment_at(drive.last_step(), Metric::DomesticShare, "RUS", "operating_systems",
                         "firms") +
            0.3);
}
