// Lock-in and hysteresis (docs/model.md, "Lock-in"): installed base with switching costs and
// network effects, a vendor's re-entry, lasting distrust. Each is off by default, and with all of
// them off a lift restores the world before the sanction.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

using techdep::Metric;
using techdep::ScenarioSpec;
using techdep::Simulation;
using techdep::test::SpecBuilder;

namespace {

struct LockIn {
  double switching_cost = 0.0;
  double network_effect = 0.0;
  double turnover = 1.0;
  double reentry_speed = 1.0;
  double distrust_build = 0.0;
  double distrust_decay = 0.0;
};

// R buys its operating systems from U (0.7) and at home (0.3) and could make 0.6 itself. U leaves
// at step 2 (no grey route) and is allowed back at step 30.
ScenarioSpec os_world(const LockIn& lock, int steps = 200, bool lifted = true) {
  SpecBuilder b({"R", "U"}, {"os"}, steps);
  b.supply("R", "os", {{"R", 0.3}, {"U", 0.7}}).capability("R", "os", 0.6);
  const int exit = b.export_control("exit", 2, "U", "R", 1.0);
  if (lifted) b.lift("thaw", 30, exit);
  ScenarioSpec spec = b.build();
  spec.sectors[0].switching_cost = lock.switching_cost;
  spec.sectors[0].network_effect = lock.network_effect;
  spec.sectors[0].installed_base_turnover = lock.turnover;
  spec.sectors[0].reentry_speed = lock.reentry_speed;
  spec.sectors[0].security_sensitivity = 1.0;
  spec.countries[0].distrust_build = lock.distrust_build;
  spec.countries[0].distrust_decay = lock.distrust_decay;
  return spec;
}

double domestic_at(const ScenarioSpec& spec, int step) {
  Simulation sim(spec);
  for (int t = 0; t < step; ++t) sim.step();
  return sim.metrics().value(Metric::DomesticShare, 0, 0, -1);
}

}  // namespace

TEST_CASE("With every lock-in mechanism off, a lift restores the state before the sanction",
          "[model][lock-in]") {
  const ScenarioSpec spec = os_world({});
  CHECK(domestic_at(spec, 29) == Approx(0.6).margin(1e-3));  // U gone: R makes all it can
  CHECK(domestic_at(spec, 200) == Approx(0.3).margin(1e-9));
}

TEST_CASE("Switching costs and network effects keep a switched buyer where it went",
          "[model][lock-in]") {
  // Both on: the installed base moved to R while U was away, and R's network now outweighs U.
  const ScenarioSpec locked =
      os_world({.switching_cost = 1.0, .network_effect = 3.0, .turnover = 0.1});
  CHECK(domestic_at(locked, 200) > 0.55);
  // Switching costs alone slow the return but do not stop it (one stable state here).
  const ScenarioSpec switching = os_world({.switching_cost = 1.0, .turnover = 0.1}, 5000);
  const double slowed = domestic_at(switching, 40);
  CHECK(slowed > domestic_at(os_world({}), 40) + 0.05);
  CHECK(domestic_at(switching, 400) < slowed);
  CHECK(domestic_at(switching, 5000) == Approx(0.3).margin(1e-4));
}

TEST_CASE("A world at rest stays at rest with every lock-in mechanism on", "[model][lock-in]") {
  // A partial exit already in force at t = 0: presence, installed base and distrust start where
  // the world is, so nothing moves.
  SpecBuilder b({"R", "U"}, {"os"}, 60);
  b.supply("R", "os", {{"R", 0.3}, {"U", 0.7}}).capability("R", "os", 0.6);
  b.export_control("old", 0, "U", "R", 0.4, 0.5);
  ScenarioSpec spec = b.build();
  spec.sectors[0].switching_cost = 0.8;
  spec.sectors[0].network_effect = 2.0;
  spec.sectors[0].installed_base_turnover = 0.05;
  spec.sectors[0].reentry_speed = 0.1;
  spec.sectors[0].security_sensitivity = 0.5;
  spec.countries[0].distrust_build = 0.2;
  spec.countries[0].distrust_decay = 0.01;
  Simulation sim(spec);
  const double start = sim.metrics().value(Metric::DomesticShare, 0, 0, -1);
  for (int t = 0; t < 60; ++t) {
    sim.step();
    REQUIRE(sim.metrics().value(Metric::DomesticShare, 0, 0, -1) ==
            Approx(start).margin(1e-12));
    REQUIRE(sim.metrics().value(Metric::PriceIndex, 0, 0, -1) == Approx(1.0).margin(1e-12));
    REQUIRE(sim.metrics().value(Metric::Distrust, 0, -1, 1) == 0.0);
  }
}

TEST_CASE("A vendor that left comes back at the re-entry speed", "[model][lock-in]") {
  const ScenarioSpec free_return = os_world({});
  const ScenarioSpec slow_return = os_world({.reentry_speed = 0.05});
  // Five steps after the thaw the slow vendor has regained less than a quarter of its reach.
  CHECK(domestic_at(slow_return, 36) > domestic_at(free_return, 36) + 0.1);
  // Re-entry is slow, not impossible.
  CHECK(domestic_at(slow_return, 400) == Approx(0.3).margin(1e-6));
  // Without an exit presence never matters.
  CHECK(domestic_at(os_world({.reentry_speed = 0.05}, 50, false), 50) ==
        Approx(domestic_at(os_world({}, 50, false), 50)).margin(1e-12));
}

TEST_CASE("Lasting distrust builds while a supplier cuts a buyer off and outlives the cut",
          "[model][lock-in]") {
  const ScenarioSpec memory = os_world({.distrust_build = 0.1});
  Simulation sim(memory);
  for (int t = 0; t < 3; ++t) sim.step();
  const double early = sim.metrics().value(Metric::Distrust, 0, -1, 1);
  for (int t = 3; t < 30; ++t) sim.step();
  const double at_thaw = sim.metrics().value(Metric::Distrust, 0, -1, 1);
  CHECK(early > 0.0);
  CHECK(at_thaw > early);
  // build * (1 - H) per step for 28 steps at full pressure: 1 - 0.9^28
  CHECK(at_thaw == Approx(1.0 - std::pow(0.9, 28)).margin(1e-12));
  for (int t = 30; t < 200; ++t) sim.step();
  CHECK(sim.metrics().value(Metric::Distrust, 0, -1, 1) == Approx(at_thaw).margin(1e-12));
  CHECK(sim.metrics().value(Metric::DomesticShare, 0, 0, -1) > 0.3 + 0.05);
  // With decay, distrust fades and the buyer returns.
  const ScenarioSpec fading = os_world({.distrust_build = 0.1, .distrust_decay = 0.05});
  CHECK(domestic_at(fading, 400) == Approx(0.3).margin(1e-4));
}

TEST_CASE("The installed base metric follows the shares at the turnover rate", "[model][lock-in]") {
  const ScenarioSpec spec = os_world({.switching_cost = 0.5, .turnover = 0.1});
  Simulation sim(spec);
  CHECK(sim.metrics().value(Metric::InstalledBase, 0, 0, 1) == Approx(0.7).margin(1e-12));
  // U's share is 0 from state 3 on: its part of the base shrinks every step, never to nothing.
  double previous = 0.7;
  for (int t = 0; t < 30; ++t) {
    sim.step();
    double sum = 0.0;
    for (int k = 0; k < 2; ++k) sum += sim.metrics().value(Metric::InstalledBase, 0, 0, k);
    CHECK(sum == Approx(1.0).margin(1e-12));
    const double base_u = sim.metrics().value(Metric::InstalledBase, 0, 0, 1);
    if (t >= 2) CHECK(base_u < previous);
    CHECK(base_u > 0.0);
    previous = base_u;
  }
}

namespace {

// R buys 0.8 from U and 0.2 at home, and could make 0.3 itself; an investment programme from
// step 2 builds capability. Nothing restricts U.
ScenarioSpec programme_world(double idle_pricing, double learning_by_doing) {
  SpecBuilder b({"R", "U"}, {"telecom"}, 120);
  b.supply("R", "telecom", {{"R", 0.2}, {"U", 0.8}}).capability("R", "telecom", 0.3);
  const int programme = b.add_event(techdep::EventType::Investment, "programme", 2, {}, {"R"});
  b.event(programme).intensity = 1.0;
  ScenarioSpec spec = b.build();
  spec.sectors[0].capacity_growth = 0.02;
  spec.sectors[0].idle_pricing = idle_pricing;
  spec.sectors[0].learning_by_doing = learning_by_doing;
  return spec;
}

}  // namespace

TEST_CASE("Domestic producers with idle capability compete for demand on price",
          "[model][domestic]") {
  // Without idle pricing (and without learning) capability built sits idle: the domestic share
  // only moves when foreign supply is cut.
  Simulation leftovers(programme_world(0.0, 0.0));
  Simulation competing(programme_world(2.0, 0.0));
  for (int t = 0; t < 120; ++t) {
    leftovers.step();
    competing.step();
  }
  CHECK(leftovers.metrics().value(Metric::DomesticShare, 0, 0, -1) == Approx(0.2).margin(1e-12));
  const double domestic = competing.metrics().value(Metric::DomesticShare, 0, 0, -1);
  CHECK(domestic > 0.25);
  // It never sells more than it can make.
  CHECK(domestic <= competing.metrics().value(Metric::Capacity, 0, 0, -1) + 1e-12);
  // At rest (no programme) the initial slack is no reason to cut prices.
  ScenarioSpec rest = programme_world(2.0, 0.5);
  rest.events.clear();
  Simulation quiet(rest);
  for (int t = 0; t < 60; ++t) {
    quiet.step();
    REQUIRE(quiet.metrics().value(Metric::DomesticShare, 0, 0, -1) == Approx(0.2).margin(1e-12));
  }
}

TEST_CASE("Experience of serving more demand lowers the domestic price after a cut ends",
          "[model][domestic]") {
  // U leaves from step 2 to step 30; R serves up to 0.6 meanwhile and learns from it.
  const ScenarioSpec forgetful = os_world({});
  ScenarioSpec learning = os_world({});
  learning.sectors[0].learning_by_doing = 0.5;
  CHECK(domestic_at(forgetful, 200) == Approx(0.3).margin(1e-9));
  // After about two years at up to 0.6 (0.3 above the start) experience is about 0.6 years:
  // the domestic price stays lower and keeps a larger share for good.
  CHECK(domestic_at(learning, 200) > 0.3 + 0.03);
}

TEST_CASE("Agent mode: importer firms feel the same lock-in", "[model][lock-in][agents]") {
  // The firms read the cell's prices, switching and network terms included: with both on, the
  // thaw leaves far more at home than with them off, as in aggregate mode.
  const auto agents = [](ScenarioSpec spec) {
    spec.mode = techdep::Mode::Agents;
    spec.agents.firms_per_cell = 500;
    spec.agents.workers_per_country = 10;
    return spec;
  };
  const double locked =
      domestic_at(agents(os_world({.switching_cost = 1.0, .network_effect = 3.0, .turnover = 0.1})),
                  200);
  const double free = domestic_at(agents(os_world({})), 200);
  CHECK(free == Approx(0.3).margin(0.02));
  CHECK(locked > free + 0.2);
}
