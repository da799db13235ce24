#include "techdep/graph/routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <utility>
#include <vector>

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/filtered_graph.hpp>

#include "techdep/core/parallel.hpp"

namespace techdep {
namespace {

// Compressed rows: the graph of a sector is built in one allocation from its sorted edge list
// (a dense world has C^2 edges per sector; an adjacency list allocated per edge took as long
// as the searches).
struct EdgeWeight {
  double weight = 0.0;
};
using RouteGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property,
                                                      EdgeWeight, boost::no_property,
                                                      std::uint32_t, std::uint32_t>;
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

  // Sectors are independent searches writing their own entries: blocks of sectors run on the
  // threads, each with its own buffers; the count of cheaper routes is summed per sector.
  std::vector<int> cheaper(sectors, 0);
  parallel_blocks(sectors, static_cast<std::size_t>(std::max(1, inputs.threads)),
                  [&](std::size_t begin, std::size_t end, std::size_t) {
    std::vector<double> distance(countries);
    std::vector<Vertex> predecessor(countries);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
    std::vector<EdgeWeight> weights;
    for (std::size_t sector = begin; sector < end; ++sector) {
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

      // Sorted by source, then target: the order an adjacency list got them in, so the searches
      // meet ties in the same order.
      edges.clear();
      weights.clear();
      for (std::size_t from = 0; from < countries; ++from) {
        for (std::size_t to = 0; to < countries; ++to) {
          if (from == to || !(inputs.restriction[at(to, sector, from)] < 1.0)) continue;
          edges.emplace_back(static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(to));
          weights.push_back({edge_weight(inputs.trade_cost[from * countries + to],
                                         inputs.reroute_markup)});
        }
      }
      const RouteGraph graph(boost::edges_are_sorted, edges.begin(), edges.end(), weights.begin(),
                             static_cast<std::uint32_t>(countries));

      for (std::size_t buyer = 0; buyer < countries; ++buyer) {
        for (std::size_t origin = 0; origin < countries; ++origin) {
          const std::size_t idx = at(buyer, sector, origin);
          if (origin == buyer || !(inputs.restriction[idx] > 0.0) || !(inputs.evasion[idx] > 0.0)) {
            continue;
          }
          const WithoutEdge keep{&graph, static_cast<Vertex>(origin), static_cast<Vertex>(buyer)};
          const boost::filtered_graph<RouteGraph, WithoutEdge> open(graph, keep);
          boost::dijkstra_shortest_paths(
              open, static_cast<Vertex>(origin),
              boost::weight_map(boost::get(&EdgeWeight::weight, open))
                  .predecessor_map(boost::make_iterator_property_map(
                      predecessor.begin(), boost::get(boost::vertex_index, graph)))
                  .distance_map(boost::make_iterator_property_map(
                      distance.begin(), boost::get(boost::vertex_index, graph)))
                  .distance_inf(std::numeric_limits<double>::infinity()));
          if (!std::isfinite(distance[buyer]) || predecessor[buyer] == buyer) continue;
          const double direct = inputs.trade_cost[origin * countries + buyer] *
                                (1.0 + inputs.reroute_markup);
          const double ratio = std::exp(distance[buyer]) / direct;
          if (ratio < 1.0) ++cheaper[sector];
          table.multiplier[idx] = std::max(1.0, ratio);
          table.hub[idx] = static_cast<int>(predecessor[buyer]);
        }
      }
    }
  });
  for (const int count : cheaper) table.cheaper_than_direct += count;
}

}  // namespace techdep
