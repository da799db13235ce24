#include "techdep/graph/routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/filtered_graph.hpp>

namespace techdep {
namespace {

using RouteGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS,
                                         boost::no_property,
                                         boost::property<boost::edge_weight_t, double>>;
using Vertex = boost::graph_traits<RouteGraph>::vertex_descriptor;
using Edge = boost::graph_traits<RouteGraph>::edge_descriptor;

// Hides the direct edge of the pair being rerouted; every other open edge stays usable.
struct WithoutEdge {
  const RouteGraph* graph = nullptr;
  Vertex from = 0;
  Vertex to = 0;
  bool operator()(const Edge& edge) const {
    return !(boost::source(edge, *graph) == from && boost::target(edge, *graph) == to);
  }
};

double edge_weight(double trade_cost, double markup) {
  // Agreements or `set` can bring tau (1 + mu) below 1; Dijkstra needs non-negative weights, and a
  // hop never makes a route cheaper than free.
  return std::max(0.0, std::log(trade_cost * (1.0 + markup)));
}

}  // namespace

void find_routes(const RouteInputs& inputs, RouteTable& table) {
  const auto countries = static_cast<std::size_t>(inputs.countries);
  const auto sectors = static_cast<std::size_t>(inputs.sectors);
  const std::size_t cells = countries * sectors * countries;
  table.multiplier.assign(cells, 0.0);
  table.hub.assign(cells, -1);
  table.cheaper_than_direct = 0;
  auto at = [&](std::size_t buyer, std::size_t sector, std::size_t origin) {
    return (buyer * sectors + sector) * countries + origin;
  };

  std::vector<double> distance(countries);
  std::vector<Vertex> predecessor(countries);
  for (std::size_t sector = 0; sector < sectors; ++sector) {
    bool any_pair = false;
    for (std::size_t buyer = 0; buyer < countries && !any_pair; ++buyer) {
      for (std::size_t origin = 0; origin < countries; ++origin) {
        const std::size_t idx = at(buyer, sector, origin);
        if (origin != buyer && inputs.restriction[idx] > 0.0 && inputs.evasion[idx] > 0.0) {
          any_pair = true;
          break;
        }
      }
    }
    if (!any_pair) continue;

    RouteGraph graph(countries);
    for (std::size_t from = 0; from < countries; ++from) {
      for (std::size_t to = 0; to < countries; ++to) {
        if (from == to || !(inputs.restriction[at(to, sector, from)] < 1.0)) continue;
        boost::add_edge(from, to, edge_weight(inputs.trade_cost[from * countries + to],
                                              inputs.reroute_markup),
                        graph);
      }
    }

    for (std::size_t buyer = 0; buyer < countries; ++buyer) {
      for (std::size_t origin = 0; origin < countries; ++origin) {
        const std::size_t idx = at(buyer, sector, origin);
        if (origin == buyer || !(inputs.restriction[idx] > 0.0) || !(inputs.evasion[idx] > 0.0)) {
          continue;
        }
        const WithoutEdge keep{&graph, origin, buyer};
        const boost::filtered_graph<RouteGraph, WithoutEdge> open(graph, keep);
        boost::dijkstra_shortest_paths(
            open, origin,
            boost::predecessor_map(predecessor.data())
                .distance_map(distance.data())
                .distance_inf(std::numeric_limits<double>::infinity()));
        if (!std::isfinite(distance[buyer]) || predecessor[buyer] == buyer) continue;
        const double direct = inputs.trade_cost[origin * countries + buyer] *
                              (1.0 + inputs.reroute_markup);
        const double ratio = std::exp(distance[buyer]) / direct;
        if (ratio < 1.0) ++table.cheaper_than_direct;
        table.multiplier[idx] = std::max(1.0, ratio);
        table.hub[idx] = static_cast<int>(predecessor[buyer]);
      }
    }
  }
}

}  // namespace techdep
