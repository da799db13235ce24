#pragma once
// The supply network of one sector at one step, for `techdep network`: who supplies whom, which
// hubs carry rerouted flows, how central they are, and where the narrowest cut between a supplier
// bloc and a buyer lies. Max flow uses Boost.Graph behind engine/graph/supply_network.cpp;
// betweenness is Brandes' algorithm on compressed adjacency arrays there.

#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace techdep {

/// A buyer's share of demand served by one origin, directly (hub = -1) or through one hub.
struct SupplyFlow {
  int origin = 0;
  int hub = -1;
  int buyer = 0;
  double share = 0.0;  ///< share of the buyer's demand for the sector (0-1)
};

/// A directed edge of the network, with the summed share weight of every flow that uses it.
/// Every buyer's demand counts as one unit: the model has shares, not volumes.
struct SupplyEdge {
  int from = 0;
  int to = 0;
  double weight = 0.0;
  double rerouted = 0.0;  ///< the part of `weight` that is rerouted flow
};

struct SupplyNetwork {
  int step = 0;
  std::string date;                    ///< step label, e.g. 2022-03
  std::string sector;                  ///< sector id
  std::vector<std::string> countries;  ///< node ids, indexed by country id
  std::vector<SupplyFlow> flows;       ///< foreign flows with share > 0 (domestic supply omitted)
};

/// Aggregates the flows into edges: a direct flow k -> c, a rerouted flow k -> hub and hub -> c.
/// Sorted by (from, to).
std::vector<SupplyEdge> supply_edges(const SupplyNetwork& network);

/// Brandes betweenness centrality of every node over the directed edges with weight > 0
/// (unweighted paths), normalised by (n - 1)(n - 2) so that values lie in [0, 1].
std::vector<double> betweenness(const SupplyNetwork& network);

/// The narrowest set of edges separating a supplier bloc from a buyer.
struct MinCut {
  double capacity = 0.0;           ///< max flow = min cut, in summed share weight
  std::vector<SupplyEdge> edges;   ///< the cut edges (from the source side to the sink side)
};

/// Max flow (Boost Edmonds-Karp: push-relabel asserts exact conservation, which doubles break)
/// from `sources` to `sink` in the directed graph of `nodes` nodes and `edges` (capacity = edge
/// weight); the edges from the source side of the residual graph to the rest form the cut.
/// Sources that equal the sink are ignored.
MinCut max_flow_cut(std::size_t nodes, std::span<const SupplyEdge> edges,
                    std::span<const int> sources, int sink);

/// max_flow_cut from `sources` (a supplier bloc) to `sink` over the flows whose origin (brand) is
/// one of `sources`, direct or through hubs, with edge capacities = their summed weights: the cut
/// is weighted by those flows only.
MinCut min_cut(const SupplyNetwork& network, std::span<const int> sources, int sink);

/// GraphML with node ids and edge attributes weight, rerouted and betweenness per node.
void write_graphml(std::ostream& out, const SupplyNetwork& network);
/// Graphviz DOT; edge pen width grows with the weight, rerouted edges dashed.
void write_dot(std::ostream& out, const SupplyNetwork& network);

}  // namespace techdep
