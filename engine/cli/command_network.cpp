// network: the supply network of one sector at one date, with chokepoint figures.

#include <algorithm>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/network.hpp"
#include "techdep/output/run_folder.hpp"

namespace techdep::cli {

namespace {

struct NetworkFlags {
  std::string scenario;
  std::vector<std::string> sets;
  std::string at;
  std::string sector;
  std::vector<std::string> suppliers;
  std::string target;
  std::string format = "text";
  std::string out;
};

template <typename Item>
int find_index(const std::vector<Item>& items, const std::string& id) {
  const auto found =
      std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.id == id; });
  return found == items.end() ? -1 : static_cast<int>(found - items.begin());
}

std::vector<CountryId> resolve_suppliers(const ScenarioSpec& spec,
                                         const std::vector<std::string>& names) {
  std::vector<CountryId> countries;
  for (const std::string& name : names) {
    if (const int bloc = find_index(spec.blocs, name); bloc >= 0) {
      const auto& members = spec.blocs[static_cast<std::size_t>(bloc)].members;
      countries.insert(countries.end(), members.begin(), members.end());
    } else if (const int country = find_index(spec.countries, name); country >= 0) {
      countries.push_back(country);
    } else {
      throw UsageError(fmt::format("network: --suppliers names '{}', neither a country nor a bloc",
                                   name));
    }
  }
  std::sort(countries.begin(), countries.end());
  countries.erase(std::unique(countries.begin(), countries.end()), countries.end());
  return countries;
}

/// The flows of the suppliers' brands (a flow's origin is its brand) to the target, direct or
/// through hubs: the paths a control by the suppliers acts on.
SupplyNetwork suppliers_flows(const SupplyNetwork& network, const std::vector<CountryId>& suppliers,
                              CountryId target) {
  SupplyNetwork out = network;
  std::erase_if(out.flows, [&](const SupplyFlow& flow) {
    return flow.buyer != target ||
           !std::binary_search(suppliers.begin(), suppliers.end(), flow.origin);
  });
  return out;
}

std::string text_report(const ScenarioSpec& spec, const NetworkReport& report,
                        const NetworkRequest& request, const std::string& suppliers_text) {
  const auto name = [&](int country) { return spec.countries[static_cast<std::size_t>(country)].id; };
  std::string text = fmt::format("{} network at {} (step {}): {} edges\n", report.network.sector,
                                 report.network.date, report.network.step, report.edges.size());
  text += fmt::format("  {:<8} {:<8} {:>10} {:>10}\n", "from", "to", "share", "rerouted");
  for (const SupplyEdge& edge : report.edges) {
    text += fmt::format("  {:<8} {:<8} {:>10.4f} {:>10.4f}\n", name(edge.from), name(edge.to),
                        edge.weight, edge.rerouted);
  }
  if (report.cut) {
    // Between a bloc and a target every path has at most one hub (origin -> hub -> buyer), so a
    // hub's part of the bloc's brands reaching the target is exactly the flow through it; the
    // unweighted betweenness of the whole network ranked the bloc's own members first instead
    // (they sit on every path out of themselves).
    const SupplyNetwork flows = suppliers_flows(report.network, request.suppliers, request.target);
    std::vector<double> through(spec.countries.size(), 0.0);
    double total = 0.0;
    for (const SupplyFlow& flow : flows.flows) {
      total += flow.share;
      if (flow.hub >= 0) through[static_cast<std::size_t>(flow.hub)] += flow.share;
    }
    std::vector<int> hubs;
    for (std::size_t hub = 0; hub < through.size(); ++hub) {
      if (through[hub] > 0.0) hubs.push_back(static_cast<int>(hub));
    }
    std::stable_sort(hubs.begin(), hubs.end(), [&](int left, int right) {
      return through[static_cast<std::size_t>(left)] > through[static_cast<std::size_t>(right)];
    });
    text += fmt::format("  chokepoints: hubs carrying {} brands to {} ({:.4f} of its demand in "
                        "all, direct or rerouted), by the share they carry:\n",
                        suppliers_text, name(request.target), total);
    for (const int hub : hubs) {
      const double value = through[static_cast<std::size_t>(hub)];
      text += fmt::format("    {:<8} {:.4f} ({:.1f}% of those flows)\n", name(hub), value,
                          total > 0.0 ? 100.0 * value / total : 0.0);
    }
    if (hubs.empty()) text += "    none: every such flow goes direct\n";
  } else {
    std::vector<int> order(report.betweenness.size());
    for (std::size_t index = 0; index < order.size(); ++index) order[index] = static_cast<int>(index);
    std::stable_sort(order.begin(), order.end(), [&](int left, int right) {
      return report.betweenness[static_cast<std::size_t>(left)] >
             report.betweenness[static_cast<std::size_t>(right)];
    });
    text += "  betweenness centrality (chokepoints first):\n";
    for (const int country : order) {
      const double value = report.betweenness[static_cast<std::size_t>(country)];
      if (value <= 0.0) break;
      text += fmt::format("    {:<8} {:.4f}\n", name(country), value);
    }
  }
  if (report.cut) {
    text += fmt::format("  minimum cut of the flows of {} brands to {}: capacity {:.4f} over {} "
                        "edge(s)\n",
                        suppliers_text, name(request.target), report.cut->capacity,
                        report.cut->edges.size());
    for (const SupplyEdge& edge : report.cut->edges) {
      text += fmt::format("    {} -> {} ({:.4f})\n", name(edge.from), name(edge.to), edge.weight);
    }
  }
  return text;
}

int network_command(const NetworkFlags& flags) {
  LoadOptions options;
  options.overrides = to_overrides(flags.sets);
  const LoadedScenario loaded = load_scenario(flags.scenario, options);
  const ScenarioSpec& spec = loaded.spec;

  NetworkRequest request;
  const std::optional<int> step = parse_step(spec.time, flags.at);
  if (!step || *step < 0 || *step > spec.time.steps) {
    throw UsageError(fmt::format("network: --at '{}' is not a date or step within {}..{}", flags.at,
                                 step_label(spec.time, 0), step_label(spec.time, spec.time.steps)));
  }
  request.step = *step;
  request.sector = find_index(spec.sectors, flags.sector);
  if (request.sector < 0) {
    throw UsageError(fmt::format("network: unknown sector '{}'", flags.sector));
  }
  if (flags.suppliers.empty() != flags.target.empty()) {
    throw UsageError("network: --suppliers and --target go together (the cut separates them)");
  }
  if (!flags.target.empty()) {
    request.suppliers = resolve_suppliers(spec, flags.suppliers);
    request.target = find_index(spec.countries, flags.target);
    if (request.target < 0) {
      throw UsageError(fmt::format("network: unknown target country '{}'", flags.target));
    }
  }
  const NetworkReport report = network_report(spec, request);

  std::string document;
  if (flags.format == "text") {
    document = text_report(spec, report, request, fmt::format("{}", fmt::join(flags.suppliers, "+")));
  } else {
    std::ostringstream stream;
    if (flags.format == "graphml") {
      write_graphml(stream, report.network);
    } else {
      write_dot(stream, report.network);
    }
    document = stream.str();
  }
  if (flags.out.empty()) {
    fmt::print("{}", document);
  } else {
    write_file_atomically(flags.out, document);
    fmt::print(stderr, "network written to {}\n", flags.out);
  }
  return exit_code::kOk;
}

}  // namespace

void add_network_command(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<NetworkFlags>();
  CLI::App* network = app.add_subcommand(
      "network", "The supply network of a sector at a date, with chokepoint figures");
  network->add_option("scenario", flags->scenario, "Scenario YAML file")->required();
  network->add_option("--at", flags->at, "Date (YYYY-MM) or step")->required();
  network->add_option("--sector", flags->sector, "Sector id")->required();
  network->add_option("--suppliers", flags->suppliers,
                      "Supplier bloc or countries for the minimum cut");
  network->add_option("--target", flags->target, "Buyer country for the minimum cut");
  network->add_option("--format", flags->format, "Output format")
      ->check(CLI::IsMember({"text", "graphml", "dot"}));
  network->add_option("--out", flags->out, "File to write instead of stdout")
      ->check(non_empty_path());
  network->add_option("--set", flags->sets, "Override a scenario value (repeatable)");
  network->callback([flags, &context] { context.exit_code = network_command(*flags); });
}

}  // namespace techdep::cli
