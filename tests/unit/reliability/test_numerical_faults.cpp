// Extreme but valid parameters (docs/reliability.md, "Numerical faults"): every run goes to its
// last step with every invariant checked after every phase, and no published metric is NaN.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace {

using techdep::LoadOptions;
using techdep::MetricsFrame;
using techdep::Override;

const std::string kTeachingWorld = TECHDEP_SOURCE_DIR "/scenarios/teaching-world.yaml";
const std::string kDegenerateWorld = TECHDEP_SOURCE_DIR "/tests/data/reliability/degenerate-world.yaml";
const std::vector<std::string> kTeachingSectors = {"semiconductors", "software",
                                                   "telecom_equipment"};

// One `--set` per sector of the teaching world: `sectors.<s>.<parameter>=<value>`.
std::vector<std::string> every_sector(const std::string& parameter, const std::string& value) {
  std::vector<std::string> sets;
  for (const std::string& sector : kTeachingSectors) {
    sets.push_back("sectors." + sector + "." + parameter + "=" + value);
  }
  return sets;
}

// The first NaN among the metrics a run publishes, or empty. total_dependency is computed only
// for the output countries and is NaN elsewhere by design (docs/output-format.md).
std::string first_nan(const MetricsFrame& frame) {
  const std::pair<const char*, const std::vector<double>*> metrics[] = {
      {"domestic_share", &frame.domestic_share}, {"import_share", &frame.import_share},
      {"shortage", &frame.shortage},             {"rerouted_share", &frame.rerouted_share},
      {"hhi", &frame.hhi},                       {"critical", &frame.critical},
      {"capacity", &frame.capacity},             {"price_index", &frame.price_index},
      {"supplier_share", &frame.supplier_share}, {"shipper_share", &frame.shipper_share},
      {"bloc_share", &frame.bloc_share},         {"talent", &frame.talent},
      {"emigrants", &frame.emigrants},           {"returns", &frame.returns},
      {"diaspora", &frame.diaspora},             {"sovereignty", &frame.sovereignty}};
  for (const auto& [name, values] : metrics) {
    for (std::size_t i = 0; i < values->size(); ++i) {
      if (std::isnan((*values)[i])) {
        return std::string(name) + "[" + std::to_string(i) + "] at step " +
               std::to_string(frame.step);
      }
    }
  }
  return {};
}

// Loads with the overrides (so the values pass the loader's validation: they are valid inputs)
// and runs to the end with invariant checks; returns the number of steps done.
int run_checked(const std::string& path, const std::vector<std::string>& sets) {
  LoadOptions options;
  for (const std::string& set : sets) options.overrides.push_back(Override{set});
  const techdep::LoadedScenario loaded = techdep::load_scenario(path, options);
  techdep::Simulation simulation(loaded.spec, techdep::SimulationOptions{true, 1});
  CHECK(first_nan(simulation.metrics()).empty());
  while (!simulation.finished()) {
    simulation.step();
    const std::string nan = first_nan(simulation.metrics());
    INFO(nan);
    REQUIRE(nan.empty());
  }
  return simulation.step_index();
}

}  // namespace

TEST_CASE("Extreme sector parameters run to the end without NaN", "[reliability]") {
  struct Case {
    const char* what;
    std::vector<std::string> sets;
  };
  const std::vector<Case> cases = {
      {"elasticity 50", every_sector("elasticity", "50")},
      {"elasticity 0.05", every_sector("elasticity", "0.05")},
      {"adjustment 1", every_sector("adjustment", "1")},
      {"capacity_growth 1", every_sector("capacity_growth", "1")},
      {"learning 100", every_sector("learning", "100")},
      {"depreciation 1 and demand_pull 1", [] {
         auto sets = every_sector("depreciation", "1");
         for (auto& set : every_sector("demand_pull", "1")) sets.push_back(set);
         return sets;
       }()},
      {"security_sensitivity 1000 with distrust",
       [] {
         auto sets = every_sector("security_sensitivity", "1000");
         sets.push_back("distrust={RUS: {USA: 5, EU: 5}, source: assumption}");
         return sets;
       }()},
      {"full controls with no evasion",
       {"events[export-controls-2022].intensity=1", "events[export-controls-2022].evasion=0"}},
      {"talent 0 in Russia", {"countries.RUS.talent=0"}},
      {"every talent rate at 1",
       {"countries.RUS.sanction_push=1", "countries.RUS.return_rate=1",
        "countries.RUS.training_rate=1", "countries.RUS.base_emigration=1"}},
  };
  for (const Case& test : cases) {
    INFO(test.what);
    CHECK(run_checked(kTeachingWorld, test.sets) == 72);
  }
}

TEST_CASE("A world with no capability, no talent and every flow blocked runs without NaN",
          "[reliability]") {
  // Nobody can make anything at home and at step 2 every foreign flow is cut with no route:
  // shortage must rise to 1 everywhere, never to NaN.
  CHECK(run_checked(kDegenerateWorld, {}) == 24);
  CHECK(run_checked(kDegenerateWorld, {"sectors.chips.elasticity=50",
                                       "sectors.software.elasticity=0.05",
                                       "sectors.software.adjustment=1"}) == 24);
}
