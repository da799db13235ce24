// Entry of brands new to a market, and secondary sanctions (docs/model.md, "Entry").
#include <catch2/catch.hpp>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

using techdep::EventType;
using techdep::Metric;
using techdep::ScenarioSpec;
using techdep::Simulation;
using techdep::test::SpecBuilder;

namespace {

// R buys payments from U (0.75) and at home (0.25); C sells a third of the world's card services
// but nothing to R. U may be cut off at step 2.
ScenarioSpec card_world(bool cut, double entry_speed = 0.2) {
  SpecBuilder b({"R", "U", "C"}, {"payments"}, 40);
  b.supply("R", "payments", {{"R", 0.25}, {"U", 0.75}}).capability("R", "payments", 0.5);
  if (cut) b.export_control("exit", 2, "U", "R", 1.0);
  ScenarioSpec spec = b.build();
  spec.sectors[0].entry_speed = entry_speed;
  spec.world_supply = {0.0, 0.66, 0.34};
  return spec;
}

double share_of_c(const Simulation& sim) { return sim.metrics().value(Metric::SupplierShare, 0, 0, 2); }

}  // namespace

TEST_CASE("A supplier with no initial share enters when incumbents are cut, and stays out "
          "otherwise",
          "[model]") {
  Simulation quiet(card_world(false));
  Simulation cut(card_world(true));
  CHECK(share_of_c(cut) == 0.0);
  for (int t = 0; t < 40; ++t) {
    quiet.step();
    cut.step();
    CHECK(share_of_c(quiet) == 0.0);  // a world at rest stays at rest: nobody enters
  }
  CHECK(share_of_c(cut) > 0.2);
  // Without entry (the sector's entry speed 0) the demand U left stays with R or unmet.
  Simulation closed(card_world(true, 0.0));
  for (int t = 0; t < 40; ++t) closed.step();
  CHECK(share_of_c(closed) == 0.0);
  CHECK(closed.metrics().value(Metric::Shortage, 0, 0, -1) >
        cut.metrics().value(Metric::Shortage, 0, 0, -1) + 0.1);
}

TEST_CASE("Entry does not move a start with restrictions already in force", "[model]") {
  ScenarioSpec spec = card_world(false);
  SpecBuilder b({"R", "U", "C"}, {"payments"}, 10);
  b.export_control("old", 0, "U", "R", 0.5, 0.0);
  spec.events = b.raw().events;
  Simulation sim(spec);
  for (int t = 0; t < 10; ++t) {
    sim.step();
    CHECK(share_of_c(sim) == 0.0);
  }
}

TEST_CASE("Secondary sanctions hold a threatened entrant back and cut a threatened incumbent",
          "[model]") {
  const auto with_threat = [](double level) {
    ScenarioSpec spec = card_world(true);
    techdep::EventSpec threat;
    threat.id = "threat";
    threat.type = EventType::SecondarySanctions;
    threat.at_step = 1;
    threat.from = {1};  // U threatens
    threat.to = {0};    // suppliers of R
    threat.level = level;
    threat.source = "assumption";
    spec.events.push_back(threat);
    return spec;
  };
  Simulation unthreatened(card_world(true));
  Simulation half(with_threat(0.5));
  Simulation full(with_threat(1.0));
  for (int t = 0; t < 12; ++t) {
    unthreatened.step();
    half.step();
    full.step();
  }
  CHECK(share_of_c(full) == 0.0);  // C everyone else: fully held back
  CHECK(share_of_c(half) > 0.0);
  CHECK(share_of_c(half) < share_of_c(unthreatened));

  // An incumbent threatened at level 0.6 keeps at most 40% of its flow.
  SpecBuilder b({"R", "U", "C"}, {"telecom"}, 6);
  b.supply("R", "telecom", {{"R", 0.2}, {"C", 0.8}}).capability("R", "telecom", 0.2);
  b.sector_params("telecom").adjustment = 1.0;
  const int threat = b.add_event(EventType::SecondarySanctions, "huawei", 1, {"U"}, {"R"});
  b.event(threat).threatened = {b.country("C")};
  b.event(threat).level = 0.6;
  Simulation incumbent(b.build());
  for (int t = 0; t < 3; ++t) incumbent.step();
  CHECK(incumbent.metrics().value(Metric::SupplierShare, 0, 0, 2) == Approx(0.8 * 0.4).margin(1e-12));
}
