// The JSON Schema, the parameter catalogue and the starter templates come from the key tables.

#include <nlohmann/json.hpp>

#include "unit/scenario/scenario_test_support.hpp"

namespace techdep {
namespace {

TEST_CASE("json schema is draft 2020-12 and mirrors the key tables", "[scenario]") {
  const nlohmann::json schema = nlohmann::json::parse(scenario_json_schema());
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  CHECK(schema["additionalProperties"] == false);
  const auto& sector = schema["properties"]["sectors"]["additionalProperties"];
  CHECK(sector["additionalProperties"] == false);
  const auto& elasticity = sector["properties"]["elasticity"]["oneOf"][0];
  CHECK(elasticity["exclusiveMinimum"] == 0.0);
  CHECK(elasticity["not"]["const"] == 1);
  CHECK(sector["properties"]["adjustment"]["oneOf"][0]["maximum"] == 1.0);
  const auto& event = schema["properties"]["events"]["items"];
  CHECK(event["required"] == nlohmann::json::array({"id", "type", "at", "source"}));
  CHECK(event["properties"]["type"]["enum"].size() == 15);
  CHECK(event["properties"].contains("intensity"));
  CHECK(schema["properties"]["outputs"]["properties"]["metrics"]["items"]["enum"].size() ==
        kMetricCatalogue.size());
}

TEST_CASE("parameter catalogue lists every parameter with unit, default and range", "[scenario]") {
  const std::vector<ParamInfo>& catalogue = parameter_catalogue();
  auto find = [&](const std::string& path) -> const ParamInfo* {
    for (const ParamInfo& info : catalogue) {
      if (info.path == path) return &info;
    }
    return nullptr;
  };
  const ParamInfo* elasticity = find("sectors.<sector>.elasticity");
  REQUIRE(elasticity != nullptr);
  CHECK(elasticity->default_value == "3");
  CHECK(elasticity->range == "> 0, != 1");
  const ParamInfo* adjustment = find("sectors.<sector>.adjustment");
  REQUIRE(adjustment != nullptr);
  CHECK(adjustment->unit == "per month");
  CHECK(adjustment->range == "(0, 1]");
  REQUIRE(find("countries.<country>.talent") != nullptr);
  CHECK(find("countries.<country>.talent")->unit == "persons");
  REQUIRE(find("trade_costs.<country>.<partner>") != nullptr);
  CHECK(find("trade_costs.<country>.<partner>")->range == ">= 1");
  REQUIRE(find("time.steps") != nullptr);
  CHECK(find("time.steps")->default_value == "required");
  REQUIRE(find("reroute_markup") != nullptr);
  REQUIRE(find("events[<id>].intensity") != nullptr);
  REQUIRE(find("supply.<buyer>.<sector>.<origin>") != nullptr);
  for (const ParamInfo& info : catalogue) {
    CHECK_FALSE(info.meaning.empty());
    CHECK_FALSE(info.range.empty());
  }
}

TEST_CASE("starter templates validate", "[scenario]") {
  CHECK(starter_template_names() == std::vector<std::string>{"minimal", "teaching"});
  test::TempDir dir("starters");
  for (const std::string& name : starter_template_names()) {
    const std::string text = starter_scenario(name);
    CHECK(text.rfind("# yaml-language-server: $schema=", 0) == 0);
    const LoadedScenario loaded = load_scenario(dir.write(name + ".yaml", text));
    CHECK_FALSE(loaded.spec.events.empty());
  }
  CHECK(load_scenario(dir.file("teaching.yaml")).spec.country_count() == 5);
  CHECK_THROWS_AS(starter_scenario("fancy"), UsageError);
  CHECK_THROWS_WITH(starter_scenario("fancy"),
                    "init: unknown template 'fancy', expected one of minimal, teaching");
}

}  // namespace
}  // namespace techdep
