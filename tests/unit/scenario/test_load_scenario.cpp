#include <cmath>

#include "unit/scenario/scenario_test_support.hpp"

namespace techdep {
namespace {

using test::data_path;

const CountrySpec& country(const ScenarioSpec& spec, const std::string& id) {
  for (const CountrySpec& c : spec.countries) {
    if (c.id == id) return c;
  }
  FAIL("no country " << id);
  return spec.countries.front();
}

int country_id(const ScenarioSpec& spec, const std::string& id) {
  return static_cast<int>(&country(spec, id) - spec.countries.data());
}

TEST_CASE("base scenario loads every section", "[scenario]") {
  const LoadedScenario loaded = load_scenario(data_path("base.yaml"));
  const ScenarioSpec& spec = loaded.spec;

  CHECK(spec.name == "base-world");
  CHECK(spec.description == "Test world.");
  CHECK(spec.seed == 7);
  CHECK(spec.mode == Mode::Aggregate);
  CHECK(spec.time.start_year == 2021);
  CHECK(spec.time.start_month == 1);
  CHECK(spec.time.steps == 24);
  CHECK(spec.time.months_per_step == 1);
  CHECK(spec.reroute_markup == 0.25);
  REQUIRE(spec.country_count() == 4);
  REQUIRE(spec.sector_count() == 2);
  CHECK(spec.countries[0].id == "RUS");
  CHECK(spec.countries[0].name == "Russia");
  CHECK(spec.countries[2].name == "USA");  // the id when no name is given
  CHECK(spec.countries[0].talent == 1000);
  CHECK(spec.countries[0].sanction_push == Approx(0.02));  // monthly steps: unchanged
  // attraction {EU: 3, USA: 1} normalised over countries in file order RUS, CHN, USA, EU
  CHECK(spec.countries[0].attraction == std::vector<double>{0, 0, 0.25, 0.75});
  CHECK(spec.countries[0].sector_weights == std::vector<double>{0.75, 0.25});
  CHECK(spec.countries[1].sector_weights == std::vector<double>{0.5, 0.5});  // default equal

  // blocs: west declared, g7 created by the countries' `blocs:`
  REQUIRE(spec.bloc_count() == 2);
  CHECK(spec.blocs[0].id == "west");
  CHECK(spec.blocs[0].members == std::vector<int>{2, 3});
  CHECK(spec.blocs[1].id == "g7");
  CHECK(spec.blocs[1].members == std::vector<int>{2, 3});

  CHECK(spec.sectors[0].elasticity == 3);
  CHECK(spec.sectors[0].adjustment == Approx(0.2));
  CHECK(spec.sectors[1].elasticity == 2);  // written {value: 2, source, note}
  CHECK(spec.sectors[1].adjustment == Approx(0.1));  // default
  CHECK(spec.inputs[spec.input_index(0, 1)] == 0.25);
  CHECK(spec.inputs[spec.input_index(1, 0)] == 0.0);

  // RUS buys chips per its own row; everything else from world_supply
  const int rus = country_id(spec, "RUS");
  const int chn = country_id(spec, "CHN");
  const int usa = country_id(spec, "USA");
  const int eu = country_id(spec, "EU");
  CHECK(spec.supply[spec.supply_index(rus, 0, rus)] == Approx(0.1));
  CHECK(spec.supply[spec.supply_index(rus, 0, chn)] == Approx(0.3));
  CHECK(spec.supply[spec.supply_index(chn, 0, usa)] == Approx(0.5));
  CHECK(spec.supply[spec.supply_index(usa, 1, eu)] == Approx(0.4));
  CHECK(spec.supply[spec.supply_index(rus, 1, usa)] == Approx(0.6));

  CHECK(spec.capability[spec.cell_index(rus, 0)] == 0.2);
  CHECK(spec.capability[spec.cell_index(rus, 1)] == 0.0);  // default: domestic share
  CHECK(spec.price[spec.cell_index(chn, 0)] == 0.9);
  CHECK(spec.price[spec.cell_index(usa, 0)] == 1.0);
  CHECK(spec.trade_cost[spec.pair_index(chn, rus)] == 1.05);
  CHECK(spec.trade_cost[spec.pair_index(rus, chn)] == 1.0);
  CHECK(spec.distrust[spec.pair_index(rus, usa)] == 0.2);

  REQUIRE(spec.events.size() == 4);
  const EventSpec& controls = spec.events[0];
  CHECK(controls.id == "controls");
  CHECK(controls.type == EventType::ExportControl);
  CHECK(controls.at_step == 14);     // 2022-03 is 14 months after 2021-01
  CHECK(controls.until_step == 17);  // 2022-06-15 lies in step 17
  CHECK(controls.end_step == -1);
  CHECK(controls.from == std::vector<int>{usa, eu});  // bloc west expanded
  CHECK(controls.to == std::vector<int>{rus});        // a single scalar
  CHECK(controls.sectors == std::vector<int>{0});
  CHECK(controls.intensity == 0.9);
  CHECK(controls.evasion == 0.5);
  CHECK(controls.source == "TR23");

  const EventSpec& wave = spec.events[1];
  CHECK(wave.type == EventType::EmigrationWave);
  CHECK(wave.at_step == 14);  // a step number
  CHECK(wave.end_step == 23);
  CHECK(wave.to == std::vector<int>{rus});
  CHECK(wave.sectors.empty());  // omitted: every sector
  CHECK(wave.rate == Approx(0.015));
  CHECK(wave.destinations == std::vector<double>{0, 0, 0, 1});
  CHECK(wave.source == "BD12,assumption");

  CHECK(spec.events[2].type == EventType::Lift);
  CHECK(spec.events[2].lifted_event == 0);
  const EventSpec& tweak = spec.events[3];
  CHECK(tweak.type == EventType::Set);
  CHECK(tweak.parameter.kind == ParamRef::Kind::SectorAdjustment);
  CHECK(tweak.parameter.sector == 0);
  CHECK(tweak.value == 0.5);

  REQUIRE(spec.rules.size() == 1);
  const RuleSpec& rule = spec.rules[0];
  CHECK(rule.metric == Metric::Emigrants);
  CHECK(rule.country == rus);
  CHECK(rule.comparison == RuleComparison::Above);
  CHECK(rule.threshold == 100);
  CHECK_FALSE(rule.once);
  CHECK(rule.cooldown_steps == 3);
  CHECK(rule.then.type == EventType::ExitRestriction);
  CHECK(rule.then.to == std::vector<int>{rus});
  CHECK(rule.then.level == 0.3);
  CHECK(rule.then.until_step == 2);
  CHECK(rule.then.end_step == 6);

  REQUIRE(spec.observations.size() == 1);
  CHECK(spec.observations[0].metric == Metric::SupplierShare);
  CHECK(spec.observations[0].partner == chn);
  CHECK(spec.observations[0].step == 23);
  CHECK(spec.observations[0].date == "2022-12");
  CHECK(spec.observations[0].tolerance == 0.1);

  CHECK(spec.outputs.metrics == std::vector<Metric>{Metric::DomesticShare, Metric::Shortage});
  CHECK(spec.outputs.countries == std::vector<int>{rus, usa, eu});
  CHECK(spec.outputs.every == 2);

  CHECK(loaded.input_files ==
        std::vector<std::string>{data_path("base.yaml"), data_path("facts.yaml")});
}

TEST_CASE("extends merges maps, id lists by id, and null deletes", "[scenario]") {
  const LoadedScenario loaded = load_scenario(data_path("story.yaml"));
  const ScenarioSpec& spec = loaded.spec;
  CHECK(spec.name == "story");
  CHECK(spec.time.steps == 36);
  CHECK(spec.time.start_year == 2021);  // kept from the base
  CHECK(spec.sectors[1].learning == 0.5);
  CHECK(spec.sectors[1].elasticity == 2);  // kept from the base
  REQUIRE(spec.events.size() == 5);
  CHECK(spec.events[0].id == "controls");
  CHECK(spec.events[0].intensity == 0.5);  // overridden field by field
  CHECK(spec.events[0].evasion == 0.5);    // kept
  CHECK(spec.events[0].until_step == -1);  // deleted by null
  CHECK(spec.events[4].id == "ban");
  CHECK(spec.events[4].type == EventType::ImportBan);
  CHECK(spec.events[4].to == std::vector<int>{2});    // importer USA
  CHECK(spec.events[4].from == std::vector<int>{1});  // supplier CHN
  for (const double rho : spec.distrust) CHECK(rho == 0.0);  // the table was deleted
  CHECK(loaded.input_files == std::vector<std::string>{data_path("story.yaml"),
                                                       data_path("base.yaml"),
                                                       data_path("facts.yaml")});
}

TEST_CASE("monthly rates become per-step rates and dates map to their step", "[scenario]") {
  const ScenarioSpec spec = load_scenario(data_path("quarterly.yaml")).spec;
  CHECK(spec.time.step == StepUnit::Quarter);
  CHECK(spec.time.months_per_step == 3);
  CHECK(spec.sectors[0].adjustment == Approx(1.0 - std::pow(0.9, 3)));
  CHECK(spec.countries[0].return_rate == Approx(1.0 - std::pow(0.9, 3)));
  CHECK(spec.sectors[0].elasticity == 3.0);  // not a rate: unchanged
  CHECK(spec.events[0].at_step == 1);        // 2021-05-20 lies in the second quarter
  CHECK(step_label(spec.time, 1) == "2021-Q2");
}

TEST_CASE("csv tables are inlined and rows within tolerance renormalised", "[scenario]") {
  const LoadedScenario loaded = load_scenario(data_path("with_tables.yaml"));
  const ScenarioSpec& spec = loaded.spec;
  CHECK(spec.supply[spec.supply_index(0, 0, 0)] == 0.6);
  CHECK(spec.supply[spec.supply_index(0, 0, 1)] == 0.4);
  const double b_own = spec.supply[spec.supply_index(1, 0, 1)];
  const double b_a = spec.supply[spec.supply_index(1, 0, 0)];
  CHECK(b_own == Approx(0.3333333 / 0.9999999).epsilon(1e-15));
  CHECK(b_own + b_a == Approx(1.0).epsilon(1e-15));
  CHECK(spec.supply[spec.supply_index(0, 1, 0)] == 0.5);  // y: world_supply
  CHECK(spec.inputs[spec.input_index(0, 1)] == 0.2);
  CHECK(spec.inputs[spec.input_index(1, 0)] == 0.1);
  CHECK(loaded.input_files ==
        std::vector<std::string>{data_path("with_tables.yaml"), data_path("tables/supply.csv"),
                                 data_path("tables/inputs.csv")});
}

TEST_CASE("missing scenario file and directory are I/O errors", "[scenario]") {
  CHECK_THROWS_AS(load_scenario(data_path("no-such-file.yaml")), IoError);
  CHECK_THROWS_WITH(load_scenario(data_path("no-such-file.yaml")),
                    Catch::Contains("no-such-file.yaml: no such file"));
  CHECK_THROWS_AS(load_scenario(data_path("tables")), IoError);
  CHECK_THROWS_WITH(load_scenario(data_path("tables")), Catch::Contains("is a directory"));
}

}  // namespace
}  // namespace techdep
