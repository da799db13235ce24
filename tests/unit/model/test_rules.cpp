#include <catch2/catch.hpp>

#include <vector>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

namespace {

using techdep::EventType;
using techdep::Metric;
using techdep::test::SpecBuilder;

// A sole supplier ramping a ban from step 2 to 6: shortage 0, 0, 0, 0, 0.2, 0.4, 0.6, 0.8, ...
SpecBuilder ramp_world() {
  SpecBuilder b({"C", "A"}, {"chips"}, 20);
  b.supply("C", "chips", {{"A", 1.0}});
  const int ban = b.add_event(EventType::ImportBan, "ban", 2, {"A"}, {"C"});
  b.event(ban).intensity = 0.8;
  b.event(ban).until_step = 6;
  return b;
}

techdep::RuleSpec shortage_rule(const SpecBuilder& b, double threshold) {
  techdep::RuleSpec rule;
  rule.id = "respond";
  rule.metric = Metric::Shortage;
  rule.country = b.country("C");
  rule.sector = b.sector("chips");
  rule.threshold = threshold;
  rule.source = "assumption";
  return rule;
}

}  // namespace

TEST_CASE("Rules fire once, at the first step the condition holds, effective the next step",
          "[model]") {
  SpecBuilder b = ramp_world();
  techdep::RuleSpec rule = shortage_rule(b, 0.3);
  // The response: A's own full export control on C.
  rule.then.type = EventType::ExportControl;
  rule.then.from = {b.country("A")};
  rule.then.to = {b.country("C")};
  rule.then.intensity = 1.0;
  b.raw().rules.push_back(rule);
  techdep::Simulation sim(b.build());
  std::vector<double> shortage{0.0};
  while (!sim.finished()) {
    sim.step();
    shortage.push_back(sim.metrics().value(Metric::Shortage, 0, 0, 0));
  }
  const std::vector<techdep::RuleFiring>& firings = sim.rule_firings();
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].step == 5);  // shortage 0.2 at 4, 0.4 at 5
  CHECK(firings[0].condition_value == Approx(0.4).margin(1e-15));
  CHECK(firings[0].event_id == "respond@5");
  CHECK(shortage[5] == Approx(0.4).margin(1e-15));  // the rule read this state, did not change it
  CHECK(shortage[6] == Approx(1.0).margin(1e-15));  // its control applies from the next step
}

TEST_CASE("Rules with a cooldown fire again only after the cooldown", "[model]") {
  SpecBuilder b = ramp_world();
  techdep::RuleSpec rule = shortage_rule(b, 0.1);
  rule.once = false;
  rule.cooldown_steps = 3;
  rule.then.type = EventType::Investment;
  rule.then.to = {b.country("C")};
  rule.then.intensity = 0.1;
  b.raw().rules.push_back(rule);
  techdep::Simulation sim(b.build());
  while (!sim.finished()) sim.step();
  std::vector<int> steps;
  for (const techdep::RuleFiring& firing : sim.rule_firings()) steps.push_back(firing.step);
  CHECK(steps == std::vector<int>{4, 7, 10, 13, 16, 19});
}
