#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "techdep/graph/supply_network.hpp"

namespace {

// USA and EU supply RUS directly and through KAZ; CHN and KAZ itself supply RUS directly.
techdep::SupplyNetwork example() {
  techdep::SupplyNetwork net;
  net.step = 3;
  net.date = "2022-04";
  net.sector = "chips";
  net.countries = {"USA", "EU", "KAZ", "RUS", "CHN"};
  net.flows = {{0, -1, 3, 0.1}, {0, 2, 3, 0.2}, {1, 2, 3, 0.15}, {4, -1, 3, 0.4},
               {0, -1, 1, 0.3}, {2, -1, 3, 0.05}};
  return net;
}

}  // namespace

TEST_CASE("Supply network aggregates rerouted flows onto hub edges", "[graph]") {
  const std::vector<techdep::SupplyEdge> edges = techdep::supply_edges(example());
  REQUIRE(edges.size() == 6);
  double kaz_to_rus = 0.0;
  for (const auto& e : edges) {
    if (e.from == 2 && e.to == 3) kaz_to_rus = e.weight;
  }
  CHECK(kaz_to_rus == Approx(0.4).margin(1e-15));
}

TEST_CASE("Supply network betweenness singles out the transshipment hub", "[graph]") {
  const std::vector<double> b = techdep::betweenness(example());
  // EU reaches RUS only through KAZ; every other shortest path is a single edge.
  CHECK(b[2] == Approx(1.0 / 12.0).margin(1e-15));
  CHECK(b[2] > 0.0);
  CHECK(b[2] >= b[0]);
  CHECK(b[3] == 0.0);  // a sink
}

TEST_CASE("Supply network min cut between a bloc and a buyer finds the bottleneck", "[graph]") {
  const techdep::SupplyNetwork net = example();
  const std::vector<int> west{0, 1};
  const techdep::MinCut cut = techdep::min_cut(net, west, 3);
  // West reaches RUS by USA->RUS (0.1) and into KAZ (0.2 + 0.15); KAZ->RUS (0.4) also carries
  // KAZ's own product, so the cheapest cut is the three edges out of the bloc: 0.45.
  CHECK(cut.capacity == Approx(0.45).margin(1e-12));
  REQUIRE(cut.edges.size() == 3);
  double sum = 0.0;
  for (const auto& e : cut.edges) {
    CHECK((e.from == 0 || e.from == 1));
    sum += e.weight;
  }
  CHECK(sum == Approx(cut.capacity).margin(1e-12));
}

TEST_CASE("Supply network min cut counts only the supplier bloc's own brands", "[graph]") {
  // USA chips reach RUS directly (0.1) and through CHN as a hub (0.05); CHN sells its own chips
  // to RUS (0.42) and buys USA chips (0.5). The edge CHN -> RUS carries 0.47, of which only 0.05
  // are USA brands: a control by the USA can cut 0.15 at most, not 0.57.
  techdep::SupplyNetwork net;
  net.countries = {"USA", "CHN", "RUS"};
  net.flows = {{0, -1, 2, 0.1}, {0, 1, 2, 0.05}, {1, -1, 2, 0.42}, {0, -1, 1, 0.5}};
  const std::vector<int> west{0};
  const techdep::MinCut cut = techdep::min_cut(net, west, 2);
  CHECK(cut.capacity == Approx(0.15).margin(1e-12));
  double sum = 0.0;
  for (const auto& e : cut.edges) {
    INFO(e.from << " -> " << e.to << " " << e.weight);
    CHECK(e.weight <= 0.1 + 1e-12);  // never the 0.47 of CHN -> RUS
    sum += e.weight;
  }
  CHECK(sum == Approx(0.15).margin(1e-12));
  // With CHN in the bloc its own brand counts too.
  const std::vector<int> both{0, 1};
  CHECK(techdep::min_cut(net, both, 2).capacity == Approx(0.57).margin(1e-12));
}

TEST_CASE("Max flow on a plain graph counts every edge, whatever its origin", "[graph]") {
  // 0 -> 1 (2) and 0 -> 2 (1); 1 -> 3 (1.5), 2 -> 3 (3), 1 -> 2 (0.25). The bottleneck is
  // {1 -> 3, 1 -> 2, 0 -> 2} with 2.75; edges out of non-sources carry flow (the bench's W6 is
  // such a graph, and its max flow must equal igraph's).
  const std::vector<techdep::SupplyEdge> edges{
      {0, 1, 2.0, 0.0}, {0, 2, 1.0, 0.0}, {1, 2, 0.25, 0.0}, {1, 3, 1.5, 0.0}, {2, 3, 3.0, 0.0}};
  const std::vector<int> source{0};
  const techdep::MinCut cut = techdep::max_flow_cut(4, edges, source, 3);
  CHECK(cut.capacity == Approx(2.75).margin(1e-12));
  REQUIRE(cut.edges.size() == 3);
  double sum = 0.0;
  for (const auto& e : cut.edges) sum += e.weight;
  CHECK(sum == Approx(2.75).margin(1e-12));
}

TEST_CASE("Supply network writes GraphML and DOT", "[graph]") {
  std::ostringstream graphml;
  techdep::write_graphml(graphml, example());
  CHECK(graphml.str().find("<edge source=\"KAZ\" target=\"RUS\">") != std::string::npos);
  CHECK(graphml.str().find("</graphml>") != std::string::npos);
  std::ostringstream dot;
  techdep::write_dot(dot, example());
  CHECK(dot.str().find("\"USA\" -> \"KAZ\"") != std::string::npos);
  CHECK(dot.str().find("style=dashed") != std::string::npos);
}
