#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "techdep/app/compare.hpp"

#include "app/run_support.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/parallel.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

ScenarioSpec with_events(const ScenarioSpec& spec, const std::vector<bool>& keep) {
  std::vector<EventId> renumbered(spec.events.size(), -1);
  // A lift of an event that is gone has nothing to lift; dropping it is the same world.
  const auto kept = [&](std::size_t index) {
    if (!keep[index]) return false;
    const EventSpec& event = spec.events[index];
    return event.type != EventType::Lift || keep[static_cast<std::size_t>(event.lifted_event)];
  };
  ScenarioSpec result = spec;
  result.events.clear();
  for (std::size_t index = 0; index < spec.events.size(); ++index) {
    if (!kept(index)) continue;
    renumbered[index] = static_cast<EventId>(result.events.size());
    result.events.push_back(spec.events[index]);
  }
  for (EventSpec& event : result.events) {
    if (event.type == EventType::Lift) {
      event.lifted_event = renumbered[static_cast<std::size_t>(event.lifted_event)];
    }
  }
  result.rules.clear();
  for (const RuleSpec& rule : spec.rules) {
    if (rule.then.type == EventType::Lift) {
      const EventId target = renumbered[static_cast<std::size_t>(rule.then.lifted_event)];
      if (target < 0) continue;
      RuleSpec copy = rule;
      copy.then.lifted_event = target;
      result.rules.push_back(std::move(copy));
    } else {
      result.rules.push_back(rule);
    }
  }
  return result;
}

namespace {

using Target = MetricTarget;

// Whether the scenario switches a mechanism on, and the scenario with it off.
bool mechanism_on(const ScenarioSpec& spec, const ExplainMechanism& mechanism) {
  if (mechanism.sector != nullptr) {
    return std::ranges::any_of(spec.sectors, [&](const SectorSpec& sector) {
      return sector.*(mechanism.sector) != mechanism.off;
    });
  }
  return std::ranges::any_of(spec.countries, [&](const CountrySpec& country) {
    return country.*(mechanism.country) != mechanism.off;
  });
}

void switch_off(ScenarioSpec& spec, const ExplainMechanism& mechanism) {
  if (mechanism.sector != nullptr) {
    for (SectorSpec& sector : spec.sectors) sector.*(mechanism.sector) = mechanism.off;
  } else {
    for (CountrySpec& country : spec.countries) country.*(mechanism.country) = mechanism.off;
  }
}

template <typename Item>
int find_id(const std::vector<Item>& items, const std::string& id) {
  for (std::size_t index = 0; index < items.size(); ++index) {
    if (items[index].id == id) return static_cast<int>(index);
  }
  return -1;
}

template <typename Item>
int require_id(const std::vector<Item>& items, const std::string& id, std::string_view what,
               std::string_view command) {
  const int index = find_id(items, id);
  if (index < 0) throw UsageError(fmt::format("{}: unknown {} '{}'", command, what, id));
  return index;
}

Target resolve_target(const ScenarioSpec& spec, const ExplainRequest& request) {
  return resolve_metric_target(spec, "explain",
                               {request.metric, request.country, request.sector, request.partner,
                                request.segment, request.at});
}

double evaluate(const ScenarioSpec& spec, const Target& target) {
  return evaluate_target(spec, target);
}

}  // namespace

MetricTarget resolve_metric_target(const ScenarioSpec& spec, std::string_view command,
                                   const MetricTargetNames& names) {
  const std::string& metric_name = names.metric;
  const std::string& sector = names.sector;
  const std::string& partner = names.partner;
  const std::string& at = names.at;
  const std::optional<Metric> metric = find_metric(metric_name);
  if (!metric) throw UsageError(fmt::format("{}: unknown metric '{}'", command, metric_name));
  MetricTarget target{*metric, require_id(spec.countries, names.country, "country", command), -1,
                      -1, -1, spec.time.steps};
  const MetricShape shape = metric_info(*metric).shape;
  if (shape != MetricShape::Country && shape != MetricShape::CountryPartner) {
    if (sector.empty()) {
      throw UsageError(fmt::format("{}: metric '{}' needs --sector", command, metric_name));
    }
    target.sector = require_id(spec.sectors, sector, "sector", command);
  }
  if (shape == MetricShape::CountrySectorPartner || shape == MetricShape::CountrySectorBloc ||
      shape == MetricShape::CountryPartner) {
    if (partner.empty()) {
      throw UsageError(fmt::format("{}: metric '{}' needs --partner", command, metric_name));
    }
    target.partner = shape == MetricShape::CountrySectorBloc
                         ? require_id(spec.blocs, partner, "bloc", command)
                         : require_id(spec.countries, partner, "country", command);
  }
  if (!names.segment.empty()) {
    if (!per_segment(*metric)) {
      throw UsageError(fmt::format(
          "{}: metric '{}' is not written per segment (--segment needs one of {})", command,
          metric_name, kPerSegmentMetricNames));
    }
    target.segment = require_id(spec.segments, names.segment, "segment", command);
    if (!spec.splits_into(target.country, target.sector, target.segment)) {
      throw UsageError(fmt::format("{}: '{}' is not a demand segment of {}'s {}", command,
                                   names.segment, names.country, sector));
    }
  }
  if (!at.empty()) {
    const std::optional<int> step = parse_step(spec.time, at);
    if (!step || *step < 0 || *step > spec.time.steps) {
      throw UsageError(fmt::format("{}: --at '{}' is not a date or step within {}..{}", command,
                                   at, step_label(spec.time, 0),
                                   step_label(spec.time, spec.time.steps)));
    }
    target.step = *step;
  }
  return target;
}

double evaluate_target(const ScenarioSpec& spec, const MetricTarget& target) {
  Simulation simulation(spec);
  while (simulation.step_index() < target.step) simulation.step();
  return simulation.metrics().value(target.metric, target.country, target.sector, target.partner,
                                    target.segment);
}

bool evaluate_all(std::vector<double>& values, int threads, const EvaluationControl& control,
                  const std::function<double(std::size_t)>& evaluate) {
  std::atomic<std::size_t> done{0};
  std::atomic<bool> stopped{false};
  parallel_for(values.size(), threads, [&](std::size_t index) {
    if (stopped.load() || (control.interrupt != nullptr && control.interrupt->load())) {
      stopped.store(true);
      return;
    }
    values[index] = evaluate(index);
    if (control.on_progress) control.on_progress(done.fetch_add(1) + 1, values.size());
  });
  return !stopped.load();
}

ExplainOutcome explain_scenario(const ExplainRequest& request) {
  const LoadedScenario loaded = load_scenario_or_run(request.scenario, request.overrides);
  ScenarioSpec spec = loaded.spec;
  // Outputs do not matter for one metric; total dependency must still be computed if asked.
  const Target target = resolve_target(spec, request);
  spec.outputs.metrics = {target.metric};
  spec.outputs.countries = {target.country};

  // Players: the events that start before the target step (later ones cannot move it), or the
  // mechanisms the scenario switches on. `names` lists every row of the table.
  const bool by_events = request.by == ExplainPlayers::Events;
  std::vector<std::size_t> players;
  std::vector<std::string> names;
  if (by_events) {
    for (std::size_t index = 0; index < spec.events.size(); ++index) {
      names.push_back(spec.events[index].id);
      if (spec.events[index].at_step < target.step) players.push_back(index);
    }
  } else {
    for (std::size_t index = 0; index < kExplainMechanisms.size(); ++index) {
      names.emplace_back(kExplainMechanisms[index].name);
      if (mechanism_on(spec, kExplainMechanisms[index])) players.push_back(index);
    }
  }
  const std::size_t count = players.size();
  if (count > 62) {
    throw UsageError(fmt::format("explain: {} events are more than the 62 it can attribute", count));
  }

  const auto coalition_spec = [&](std::uint64_t mask) {
    if (!by_events) {
      ScenarioSpec result = spec;
      for (std::size_t bit = 0; bit < count; ++bit) {
        if (((mask >> bit) & 1U) == 0) switch_off(result, kExplainMechanisms[players[bit]]);
      }
      return result;
    }
    std::vector<bool> keep(spec.events.size(), false);
    for (std::size_t bit = 0; bit < count; ++bit) {
      if ((mask >> bit) & 1U) keep[players[bit]] = true;
    }
    return with_events(spec, keep);
  };

  // Collect the coalitions to evaluate, then evaluate them in parallel into their own slots.
  std::vector<std::uint64_t> masks;
  const std::uint64_t full = count == 0 ? 0 : (~std::uint64_t{0} >> (64 - count));
  std::vector<std::vector<std::size_t>> permutations;
  const bool exact = static_cast<int>(count) <= request.exact_limit;
  if (exact) {
    for (std::uint64_t mask = 0; mask <= full; ++mask) masks.push_back(mask);
  } else {
    SplitMix64 random(stream_key(spec.seed, Population::Permutations, 0, 0));
    std::vector<std::size_t> order(count);
    for (int sample = 0; sample < request.samples; ++sample) {
      for (std::size_t index = 0; index < count; ++index) order[index] = index;
      for (std::size_t index = count - 1; index > 0; --index) {
        std::swap(order[index], order[static_cast<std::size_t>(random.below(index + 1))]);
      }
      permutations.push_back(order);
      std::uint64_t mask = 0;
      masks.push_back(mask);
      for (const std::size_t player : order) masks.push_back(mask |= std::uint64_t{1} << player);
    }
    for (std::size_t player = 0; player < count; ++player) {
      masks.push_back(full & ~(std::uint64_t{1} << player));
    }
    std::sort(masks.begin(), masks.end());
    masks.erase(std::unique(masks.begin(), masks.end()), masks.end());
  }
  if (exact) {
    for (std::size_t player = 0; player < count; ++player) {
      masks.push_back(full & ~(std::uint64_t{1} << player));
    }
    std::sort(masks.begin(), masks.end());
    masks.erase(std::unique(masks.begin(), masks.end()), masks.end());
  }
  // The run count before the first run: 2^n coalitions of 10 events are 1,024 runs.
  if (request.on_plan) request.on_plan(masks.size() + 1, count, exact);
  std::vector<double> values(masks.size());
  if (!evaluate_all(values, request.threads, request.control, [&](std::size_t index) {
        return evaluate(coalition_spec(masks[index]), target);
      })) {
    ExplainOutcome interrupted;
    interrupted.interrupted = true;
    return interrupted;
  }
  std::map<std::uint64_t, double> value_of;
  for (std::size_t index = 0; index < masks.size(); ++index) value_of[masks[index]] = values[index];

  ExplainOutcome outcome;
  outcome.with_events = evaluate(spec, target);
  outcome.without_events = value_of.at(0);
  std::vector<double> shapley(count, 0.0);
  std::vector<double> standard_error(count, 0.0);
  if (exact) {
    // weight(|S|) = |S|! (n - |S| - 1)! / n!, built by a recurrence to avoid factorial overflow.
    std::vector<double> weight(count + 1, 0.0);
    if (count > 0) {
      weight[0] = 1.0 / static_cast<double>(count);
      for (std::size_t size = 1; size < count; ++size) {
        weight[size] = weight[size - 1] * static_cast<double>(size) /
                       static_cast<double>(count - size);
      }
    }
    for (std::uint64_t mask = 0; mask <= full && count > 0; ++mask) {
      const auto size = static_cast<std::size_t>(__builtin_popcountll(mask));
      for (std::size_t player = 0; player < count; ++player) {
        const std::uint64_t bit = std::uint64_t{1} << player;
        if ((mask & bit) != 0) continue;
        shapley[player] += weight[size] * (value_of.at(mask | bit) - value_of.at(mask));
      }
    }
    outcome.method = "exact Shapley";
  } else {
    // One marginal contribution per player and permutation: their mean is the estimate, their
    // spread over sqrt(permutations) its standard error.
    std::vector<double> squares(count, 0.0);
    for (const std::vector<std::size_t>& order : permutations) {
      std::uint64_t mask = 0;
      for (const std::size_t player : order) {
        const std::uint64_t next = mask | (std::uint64_t{1} << player);
        const double marginal = value_of.at(next) - value_of.at(mask);
        shapley[player] += marginal;
        squares[player] += marginal * marginal;
        mask = next;
      }
    }
    const auto samples = static_cast<double>(permutations.size());
    for (std::size_t player = 0; player < count; ++player) {
      shapley[player] /= samples;
      if (permutations.size() > 1) {
        const double variance =
            std::max(0.0, (squares[player] - samples * shapley[player] * shapley[player]) /
                              (samples - 1.0));
        standard_error[player] = std::sqrt(variance / samples);
      }
    }
    outcome.method = fmt::format("sampled Shapley ({} permutations)", permutations.size());
  }

  const double full_value = value_of.at(full);
  for (std::size_t index = 0; index < names.size(); ++index) {
    EventContribution contribution{names[index], 0.0, 0.0, 0.0};
    const auto player = std::find(players.begin(), players.end(), index);
    if (player != players.end()) {
      const auto bit = static_cast<std::size_t>(player - players.begin());
      contribution.shapley = shapley[bit];
      contribution.standard_error = standard_error[bit];
      contribution.leave_one_out = full_value - value_of.at(full & ~(std::uint64_t{1} << bit));
    }
    outcome.contributions.push_back(contribution);
  }
  std::stable_sort(outcome.contributions.begin(), outcome.contributions.end(),
                   [](const EventContribution& left, const EventContribution& right) {
                     return std::abs(left.shapley) > std::abs(right.shapley);
                   });

  const std::string label = fmt::format(
      "{} {}{}{}{} at {}", metric_info(target.metric).name, request.country,
      request.sector.empty() ? "" : " " + request.sector,
      request.partner.empty() ? "" : " " + request.partner,
      request.segment.empty() ? "" : " @" + request.segment, step_label(spec.time, target.step));
  const std::string_view players_name = by_events ? "events" : "mechanisms";
  const std::string_view column = by_events ? "event" : "mechanism";
  outcome.table = fmt::format("{}: {:.6g} with all {}, {:.6g} without; change {:+.6g} ({})\n",
                              label, outcome.with_events, players_name, outcome.without_events,
                              outcome.with_events - outcome.without_events, outcome.method);
  outcome.table += fmt::format("  {:<36} {:>12} {:>12} {:>14}\n", column, "shapley",
                               exact ? "" : "std. error", "leave-one-out");
  for (const EventContribution& contribution : outcome.contributions) {
    outcome.table += fmt::format(
        "  {:<36} {:>+12.6g} {:>12} {:>+14.6g}\n", contribution.event_id, contribution.shapley,
        exact ? std::string{} : fmt::format("{:.3g}", contribution.standard_error),
        contribution.leave_one_out);
  }

  if (request.out_dir) {
    RunFolder folder(*request.out_dir);
    std::string csv = fmt::format(
        "metric,country,sector,partner,segment,date,{},shapley,standard_error,leave_one_out,"
        "with_events,without_events,method\n",
        column);
    for (const EventContribution& contribution : outcome.contributions) {
      csv += fmt::format("{},{},{},{},{},{},", metric_info(target.metric).name, request.country,
                         request.sector, request.partner, request.segment,
                         step_label(spec.time, target.step));
      append_csv_field(csv, contribution.event_id);
      for (const double value : {contribution.shapley, contribution.standard_error,
                                 contribution.leave_one_out, outcome.with_events,
                                 outcome.without_events}) {
        csv += ',';
        append_csv_number(csv, value);
      }
      csv += ',';
      append_csv_field(csv, outcome.method);
      csv += '\n';
    }
    write_file_atomically(folder.staged("explain.csv"), csv);
    write_file_atomically(folder.staged("explain.txt"), outcome.table);
    detail::write_analysis_manifest(folder, "explain", {request.scenario}, loaded.input_files,
                                    request.overrides,
                                    {{"method", outcome.method},
                                     {"by", std::string(players_name)},
                                     {"seed", spec.seed},
                                     {"runs", masks.size() + 1}},
                                    {"explain.csv", "explain.txt"});
    folder.commit();
  }
  return outcome;
}

}  // namespace techdep
