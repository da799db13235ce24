// Starter scenarios for `techdep init`. Tests load each one, so they always validate.

#include <array>

#include <fmt/format.h>

#include "techdep/core/error.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

namespace {

constexpr std::string_view kMinimal = R"(# yaml-language-server: $schema=techdep.schema.json
# A minimal techdep scenario: two countries, one sector, one export control.
# Reference: docs/scenario-format.md. Check it with `techdep validate my.yaml`.
schema_version: 1
name: minimal
description: Two economies and one sector; one restricts exports to the other.
time: {start: 2021-01, step: month, steps: 36}   # 36 monthly steps

countries:
  AAA: {name: Country A, talent: 100000}          # talent in persons
  BBB: {name: Country B, talent: 50000}

sectors:
  chips:
    elasticity: 3.0                 # substitution between suppliers, > 0 and != 1
    adjustment: 0.1                 # share of the gap to target closed per month
    world_supply: {AAA: 0.7, BBB: 0.3}   # origin shares for every buyer without a supply row

events:
  - id: controls
    type: export_control
    at: 2022-03                     # a month, a day (YYYY-MM-DD) or a step number
    from: AAA
    to: BBB
    intensity: 0.8                  # restricted fraction of the direct flow
    source: assumption              # every event names a fact id or says `assumption`
)";

constexpr std::string_view kTeaching = R"(# yaml-language-server: $schema=techdep.schema.json
# A classroom scenario: five economies and three technology sectors. The West restricts chip
# and software exports to Russia in March 2022; some flow leaks through Kazakhstan; China steps
# in; Russia invests in its own capability; IT specialists leave.
# Figures are illustrative (source: assumption). Reference: docs/scenario-format.md.
schema_version: 1
name: teaching-world
description: Export controls, rerouting, import substitution and brain drain in one small world.
seed: 42
mode: aggregate                     # or: agents
time: {start: 2021-01, step: month, steps: 72}
reroute_markup: 0.3                 # extra cost per transshipment hop

blocs:
  west: [USA, EU]

countries:
  RUS:
    name: Russia
    talent: 760000                  # IT specialists, persons
    sanction_push: 0.02             # extra monthly emigration hazard per unit of pressure
    return_rate: 0.01               # share of the diaspora returning each month
    training_rate: 0.005            # monthly replacement of lost talent
    attraction: {EU: 0.4, KAZ: 0.3, USA: 0.3}
    source: assumption
  CHN: {name: China, talent: 7000000, source: assumption}
  USA: {name: United States, talent: 5000000, source: assumption}
  EU: {name: European Union, talent: 6000000, source: assumption}
  KAZ: {name: Kazakhstan, talent: 100000, source: assumption}

sectors:
  semiconductors:
    elasticity: 3.0
    adjustment: 0.15                # per month
    capacity_growth: 0.01           # per month at full investment
    depreciation: 0.005             # per month
    talent_intensity: 1.0
    security_sensitivity: 0.2
    demand_pull: 0.5
    learning: 0.5
    world_supply: {CHN: 0.25, USA: 0.35, EU: 0.35, KAZ: 0.05}
  software:
    elasticity: 2.0
    adjustment: 0.08
    capacity_growth: 0.03
    security_sensitivity: 1.0
    world_supply: {CHN: 0.1, USA: 0.6, EU: 0.3}
  telecom_equipment:
    elasticity: 2.5
    adjustment: 0.05
    inputs: {semiconductors: 0.30, software: 0.10}   # units of input per unit of output
    world_supply: {CHN: 0.5, EU: 0.5}

supply:                             # buyer -> sector -> origin: share (each row sums to 1)
  RUS:
    semiconductors: {RUS: 0.05, CHN: 0.20, USA: 0.35, EU: 0.35, KAZ: 0.05, source: assumption}
    software: {RUS: 0.30, CHN: 0.05, USA: 0.45, EU: 0.20}
    telecom_equipment: {RUS: 0.12, CHN: 0.45, EU: 0.43}
  CHN:
    semiconductors: {CHN: 0.4, USA: 0.3, EU: 0.3}
    software: {CHN: 0.7, USA: 0.3}
    telecom_equipment: {CHN: 1.0}

capability:                         # largest share of own demand each can supply itself
  RUS: {semiconductors: 0.08, software: 0.40, telecom_equipment: 0.15}

events:
  - id: export-controls-2022
    type: export_control
    at: 2022-03
    from: west                      # a bloc id expands to its members
    to: [RUS]
    sectors: [semiconductors, software, telecom_equipment]
    intensity: 0.9
    evasion: 0.5                    # share of restricted demand that can still find a route
    source: assumption
  - id: first-wave
    type: emigration_wave
    country: RUS
    at: 2022-03
    until: 2022-05                  # ramps up to full strength
    end: 2022-10
    rate: 0.015                     # extra monthly hazard during the wave
    destinations: {EU: 0.4, KAZ: 0.3, USA: 0.3}
    source: assumption
  - id: substitution-programme
    type: investment
    country: RUS
    sectors: [semiconductors, telecom_equipment]
    at: 2022-07
    intensity: 0.6
    source: assumption

rules:
  - id: exit-restrictions
    when: {metric: emigrants, country: RUS, above: 80000}
    then: {type: exit_restriction, country: RUS, level: 0.3}
    once: true
    source: assumption

outputs:
  countries: [RUS]
  metrics: [domestic_share, supplier_share, shortage, capacity, talent]
  every: 1
)";

struct Starter {
  std::string_view name;
  std::string_view text;
};

constexpr std::array<Starter, 2> kStarters{{{"minimal", kMinimal}, {"teaching", kTeaching}}};

}  // namespace

std::vector<std::string> starter_template_names() {
  std::vector<std::string> names;
  for (const Starter& starter : kStarters) names.emplace_back(starter.name);
  return names;
}

std::string starter_scenario(std::string_view template_name) {
  for (const Starter& starter : kStarters) {
    if (starter.name == template_name) return std::string(starter.text);
  }
  throw UsageError(fmt::format("init: unknown template '{}', expected one of {}", template_name,
                               fmt::join(starter_template_names(), ", ")));
}

}  // namespace techdep
