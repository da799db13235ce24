// `--set path=value` overrides, the resolved (effective) YAML and its round trip.

#include <filesystem>

#include "unit/scenario/scenario_test_support.hpp"

namespace techdep {
namespace {

using test::data_path;
using test::first_line;
using test::load_errors;
using test::TempDir;

LoadOptions with(std::initializer_list<const char*> overrides) {
  LoadOptions options;
  for (const char* text : overrides) options.overrides.push_back(Override{text});
  return options;
}

TEST_CASE("overrides address keys, indices and ids", "[scenario]") {
  const ScenarioSpec spec =
      load_scenario(data_path("base.yaml"),
                    with({"events[1].rate=0.02", "events[controls].intensity=0.5", "mode=agents",
                          "time.steps=30", "sectors.chips.elasticity=4",
                          "events[controls].to=[RUS, CHN]", "sectors.software.learning=0.7",
                          "capability.CHN={chips: 0.35}", "events[thaw]=null"}))
          .spec;
  CHECK(spec.events.size() == 3);  // thaw deleted
  CHECK(spec.events[0].intensity == 0.5);
  CHECK(spec.events[0].to == std::vector<int>{0, 1});
  CHECK(spec.events[1].rate == Approx(0.02));
  CHECK(spec.mode == Mode::Agents);
  CHECK(spec.time.steps == 30);
  CHECK(spec.sectors[0].elasticity == 4);
  CHECK(spec.sectors[1].learning == 0.7);  // a key the file did not have
  CHECK(spec.capability[spec.cell_index(1, 0)] == 0.35);
}

TEST_CASE("override errors point at the --set argument", "[scenario]") {
  SECTION("unknown key with a suggestion") {
    const auto errors = load_errors(data_path("base.yaml"), with({"mode=agents", "time.stpes=3"}));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].kind == "unknown-path");
    CHECK(first_line(errors[0]) ==
          "<--set 2>:1:6: error: --set: unknown path 'time.stpes': no key 'stpes' in time (did "
          "you mean 'steps'?)");
  }
  SECTION("unknown id") {
    const auto errors = load_errors(data_path("base.yaml"), with({"events[contrls].intensity=1"}));
    REQUIRE(errors.size() == 1);
    CHECK(first_line(errors[0]) ==
          "<--set 1>:1:7: error: --set: unknown path 'events[contrls]': no item 'contrls' in "
          "events (4 items) (did you mean 'controls'?)");
  }
  SECTION("a country that does not exist is not created") {
    const auto errors = load_errors(data_path("base.yaml"), with({"countries.RUZ.talent=1"}));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].kind == "unknown-path");
    CHECK(errors[0].message.find("(did you mean 'RUS'?)") != std::string::npos);
  }
  SECTION("malformed") {
    const auto errors = load_errors(data_path("base.yaml"), with({"mode"}));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].kind == "bad-override");
    CHECK(first_line(errors[0]) ==
          "<--set 1>:1:1: error: --set 'mode': expected path=value, e.g. "
          "sectors.software.elasticity=4");
  }
  SECTION("a bad value is reported at its column in the argument") {
    const auto errors = load_errors(data_path("base.yaml"), with({"sectors.chips.elasticity=1"}));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].kind == "out-of-range");
    CHECK(first_line(errors[0]) == "<--set 1>:1:26: error: sectors.chips.elasticity: 1 is out of "
                                   "range, expected > 0, != 1");
    CHECK(errors[0].source_line == "sectors.chips.elasticity=1");
  }
}

TEST_CASE("values keep their file through extends", "[scenario]") {
  const auto errors = load_errors(data_path("story.yaml"), with({"events[wave].rate=2"}));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].where.file == "<--set 1>");
  TempDir dir("located");
  const std::string base = dir.write("base.yaml", "schema_version: 1\nname: b\ntime: {steps: 12}\n"
                                                  "countries: {A: {talent: -1}}\n"
                                                  "sectors: {x: {world_supply: {A: 1}}}\n");
  const std::string story = dir.write("story.yaml", "extends: base.yaml\nname: s\n"
                                                    "sectors: {x: {elasticity: 0}}\n");
  const auto both = load_errors(story);
  REQUIRE(both.size() == 2);
  CHECK(first_line(both[0]) == base + ":4:25: error: countries.A.talent: -1 is out of range, "
                                      "expected >= 0");
  CHECK(first_line(both[1]) == story + ":3:27: error: sectors.x.elasticity: 0 is out of range, "
                                       "expected > 0, != 1");
}

std::vector<std::string> good_fixtures() {
  return {data_path("base.yaml"), data_path("story.yaml"), data_path("quarterly.yaml"),
          data_path("with_tables.yaml")};
}

TEST_CASE("resolved yaml is self-contained and loads back to the same scenario", "[scenario]") {
  TempDir dir("resolved");
  for (const std::string& fixture : good_fixtures()) {
    SECTION(fixture) {
      const LoadedScenario first = load_scenario(fixture);
      const std::string resolved = first.resolved_yaml(dir.dir());
      CHECK(resolved.find("\nextends:") == std::string::npos);
      CHECK(resolved.find("\ntables:") == std::string::npos);
      const LoadedScenario second = load_scenario(dir.write("resolved.yaml", resolved));
      CHECK(second.resolved_yaml(dir.dir()) == resolved);
      const ScenarioSpec& a = first.spec;
      const ScenarioSpec& b = second.spec;
      CHECK(a.name == b.name);
      CHECK(a.seed == b.seed);
      CHECK(a.time.steps == b.time.steps);
      CHECK(a.supply == b.supply);
      CHECK(a.inputs == b.inputs);
      CHECK(a.capability == b.capability);
      CHECK(a.price == b.price);
      CHECK(a.trade_cost == b.trade_cost);
      CHECK(a.distrust == b.distrust);
      REQUIRE(a.events.size() == b.events.size());
      for (std::size_t i = 0; i < a.events.size(); ++i) {
        CHECK(a.events[i].id == b.events[i].id);
        CHECK(a.events[i].at_step == b.events[i].at_step);
        CHECK(a.events[i].until_step == b.events[i].until_step);
        CHECK(a.events[i].intensity == b.events[i].intensity);
        CHECK(a.events[i].from == b.events[i].from);
        CHECK(a.events[i].to == b.events[i].to);
      }
      CHECK(a.rules.size() == b.rules.size());
      CHECK(a.countries.size() == b.countries.size());
      for (std::size_t i = 0; i < a.countries.size(); ++i) {
        CHECK(a.countries[i].attraction == b.countries[i].attraction);
        CHECK(a.countries[i].return_rate == b.countries[i].return_rate);
      }
    }
  }
}

TEST_CASE("resolved yaml rewrites the facts path and inlines csv rows", "[scenario]") {
  TempDir dir("facts-path");
  const std::string resolved = load_scenario(data_path("base.yaml")).resolved_yaml(dir.dir());
  const std::string expected = std::filesystem::path(data_path("facts.yaml"))
                                   .lexically_relative(dir.dir())
                                   .generic_string();
  CHECK(resolved.find("facts: \"" + expected + "\"\n") != std::string::npos);
  const std::string tables = load_scenario(data_path("with_tables.yaml")).resolved_yaml(".");
  CHECK(tables.find("supply:\n  A:\n    x:\n      A: 0.6\n      B: 0.4\n") != std::string::npos);
  CHECK(tables.find("    inputs:\n      y: 0.1\n") != std::string::npos);
}

TEST_CASE("Overrides from --set apply before validation and shows in the resolved yaml", "[scenario]") {
  const LoadedScenario loaded = load_scenario(data_path("base.yaml"), with({"seed=99"}));
  CHECK(loaded.spec.seed == 99);
  CHECK(loaded.resolved_yaml(".").find("\nseed: 99\n") != std::string::npos);
}

}  // namespace
}  // namespace techdep
