#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "support/spec_builder.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/network.hpp"

namespace {

using techdep::test::SpecBuilder;

// C buys from A and O; A's control from step 1 leaves 60% evasion through the hub H (relaying
// through O costs more, and route choice is sharp enough to leave O nothing).
techdep::ScenarioSpec hub_world() {
  SpecBuilder b({"C", "A", "H", "O"}, {"chips"}, 30);
  b.supply("C", "chips", {{"A", 0.5}, {"O", 0.5}});
  b.supply("H", "chips", {{"H", 0.5}, {"A", 0.5}});
  b.trade_cost("A", "O", 1.5);
  b.export_control("control", 1, "A", "C", 1.0, 0.6);
  techdep::ScenarioSpec spec = b.build();
  spec.routes.dispersion = 1e6;
  return spec;
}

}  // namespace

TEST_CASE("Network report shows the hub carrying rerouted flow and its cut", "[model][graph]") {
  const techdep::ScenarioSpec spec = hub_world();
  techdep::NetworkRequest request;
  request.step = 20;
  request.sector = 0;
  request.suppliers = {1};  // A
  request.target = 0;       // C
  const techdep::NetworkReport report = techdep::network_report(spec, request);
  CHECK(report.network.step == 20);
  CHECK(report.network.date == "2022-09");
  bool via_hub = false;
  for (const techdep::SupplyFlow& flow : report.network.flows) {
    if (flow.origin == 1 && flow.buyer == 0) {
      CHECK(flow.hub == 2);  // every unit of A's flow to C goes through H
      via_hub = true;
    }
  }
  CHECK(via_hub);
  CHECK(report.betweenness[2] > 0.0);
  CHECK(report.betweenness[1] == 0.0);
  REQUIRE(report.cut.has_value());
  // A reaches C only through A->H, which also carries H's own imports (0.5): the narrowest cut
  // is H->C, carrying exactly A's rerouted share.
  double rerouted = 0.0;
  for (const techdep::SupplyFlow& flow : report.network.flows) {
    if (flow.hub == 2) rerouted += flow.share;
  }
  CHECK(report.cut->capacity == Approx(rerouted).margin(1e-12));
  REQUIRE(report.cut->edges.size() == 1);
  CHECK(report.cut->edges[0].from == 2);
  CHECK(report.cut->edges[0].to == 0);
  std::ostringstream dot;
  techdep::write_dot(dot, report.network);
  CHECK(dot.str().find("\"H\" -> \"C\"") != std::string::npos);
}

TEST_CASE("Network report rejects a step outside the run", "[model][graph]") {
  techdep::NetworkRequest request;
  request.step = 31;
  CHECK_THROWS_AS(techdep::network_report(hub_world(), request), techdep::UsageError);
}
