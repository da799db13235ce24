#include "report/narrative.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace techdep {

namespace {

std::string move_label(const ScenarioSpec& spec, const SeriesKey& key) {
  std::string label = spec.countries[static_cast<std::size_t>(key.country)].id;
  if (key.sector >= 0) label += " " + spec.sectors[static_cast<std::size_t>(key.sector)].id;
  std::string metric(metric_info(key.metric).name);
  std::replace(metric.begin(), metric.end(), '_', ' ');
  label += " " + metric;
  if (key.partner >= 0) {
    label += " of " + spec.countries[static_cast<std::size_t>(key.partner)].id;
  }
  return label;
}

// The share series a reader cares about first: what the country makes, lacks and buys where.
std::vector<SeriesKey> candidate_series(const ScenarioSpec& spec, CountryId country) {
  std::vector<SeriesKey> keys;
  for (const SectorId sector : output_sectors(spec)) {
    for (const Metric metric : {Metric::DomesticShare, Metric::Shortage}) {
      if (records_metric(spec, metric)) keys.push_back({metric, country, sector, -1});
    }
    if (!records_metric(spec, Metric::SupplierShare)) continue;
    for (CountryId partner = 0; partner < spec.country_count(); ++partner) {
      // The domestic supplier share is the domestic share, already listed.
      if (partner != country) keys.push_back({Metric::SupplierShare, country, sector, partner});
    }
  }
  return keys;
}

}  // namespace

std::vector<Move> largest_moves(const ScenarioSpec& spec, CountryId country,
                                const std::vector<int>& steps,
                                const std::function<std::vector<double>(const SeriesKey&)>& values,
                                std::size_t count, double threshold) {
  std::vector<Move> moves;
  for (const SeriesKey& key : candidate_series(spec, country)) {
    const std::vector<double> series = values(key);
    if (series.size() < 2 || !std::isfinite(series.front()) || !std::isfinite(series.back())) {
      continue;
    }
    const double change = series.back() - series.front();
    if (std::abs(change) < threshold) continue;
    Move move{key, move_label(spec, key), series.front(), series.back(), steps.back(), steps.back()};
    double steepest = 0.0;
    bool half_found = false;
    for (std::size_t point = 1; point < series.size(); ++point) {
      if (!half_found && std::abs(series[point] - series.front()) >= 0.5 * std::abs(change)) {
        move.half_step = steps[point];
        half_found = true;
      }
      const double jump = std::abs(series[point] - series[point - 1]);
      if (jump > steepest) {
        steepest = jump;
        move.steepest_step = steps[point];
      }
    }
    moves.push_back(std::move(move));
  }
  std::stable_sort(moves.begin(), moves.end(), [](const Move& left, const Move& right) {
    return std::abs(left.end - left.start) > std::abs(right.end - right.start);
  });
  if (moves.size() > count) moves.resize(count);
  return moves;
}

std::string describe_move(const ScenarioSpec& spec, const Move& move, const ExplainOutcome* drivers) {
  std::string text = fmt::format(
      "{} {} from {:.3f} to {:.3f}, half of the change by {} (steepest step ending {}).",
      move.label, move.end > move.start ? "rose" : "fell", move.start, move.end,
      step_label(spec.time, move.half_step), step_label(spec.time, move.steepest_step));
  if (drivers == nullptr) return text;
  const double change = drivers->with_events - drivers->without_events;
  std::vector<std::string> named;
  for (const EventContribution& contribution : drivers->contributions) {
    // Contributions below a tenth of the change are noise to a reader; the table has them all.
    if (named.size() == 3 || std::abs(contribution.shapley) < 0.1 * std::abs(change)) break;
    named.push_back(fmt::format("{} {:+.3f}", contribution.event_id, contribution.shapley));
  }
  if (named.empty()) {
    text += " No single event accounts for a tenth of it; the model's own dynamics did.";
  } else {
    // The drivers share out the gap to the same world without events at the last step, which
    // is not the change since the first step: say which quantity they add up to.
    text += fmt::format(
        " Without any event it would end at {:.3f}; the events account for the {:+.3f} between "
        "the two, chiefly {}.",
        drivers->without_events, change, fmt::join(named, ", "));
  }
  return text;
}

std::string describe_attribution(const std::string& label, const ExplainOutcome& attribution) {
  std::string text =
      fmt::format("{} ends at {:.3f} with every event and at {:.3f} in the same world without "
                  "them: a change of {:+.3f} ({}).",
                  label, attribution.with_events, attribution.without_events,
                  attribution.with_events - attribution.without_events, attribution.method);
  if (!attribution.contributions.empty()) {
    const EventContribution& top = attribution.contributions.front();
    text += fmt::format(" The largest share, {:+.3f}, comes from {}.", top.shapley, top.event_id);
  }
  return text;
}

}  // namespace techdep
