#include "model/agents.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "model/phases.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/matrix/ces_targets.hpp"

namespace techdep::detail {
namespace {

// Set-up draws of one agent, by lane: firms use lane 0 for the size, 1 for the review speed and
// 2 for the risk aversion; workers use lane 0 for skill and lane 1 for remote work and family.
constexpr std::uint32_t kFirmSizeLane = 0;
constexpr std::uint32_t kFirmReviewLane = 1;
constexpr std::uint32_t kFirmRiskLane = 2;
constexpr std::uint32_t kWorkerSkillLane = 0;
constexpr std::uint32_t kWorkerTiesLane = 1;

// Agent state beyond this is refused: the development and CI machines have 24 GB.
constexpr double kMaxAgentBytes = 16e9;

// Rounding may leave a share a few ulps below zero; the invariant check reports anything lower.
constexpr double kRoundingSlack = 1e-12;

double clamp_rounding(double value) {
  return (value < 0.0 && value > -kRoundingSlack) ? 0.0 : value;
}

// Lognormal multiplier with median exp(-spread^2 / 2) and mean 1, from two random words.
double lognormal_multiplier(std::array<std::uint64_t, 2> words, double spread) {
  return std::exp(spread * standard_normal(words[0], words[1]) - 0.5 * spread * spread);
}

// Divides `values` by their `weights`-weighted mean, so that the weighted mean is exactly the
// intended 1 whatever the sample drew (the expected first-step response then matches aggregate
// mode and only the spread differs).
void normalise_mean(std::span<double> values, std::span<const double> weights) {
  double mean = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) mean += weights[i] * values[i];
  if (!(mean > 0.0)) return;
  for (double& value : values) value /= mean;
}

// A cell's firms are one group, or one contiguous group per demand segment (docs/model.md,
// Agent mode): a firm buys for one segment, whose firms' sizes sum to the segment's weight.
std::size_t firm_groups(const OptionLists& options, std::size_t cell) {
  return options.segmented(cell) ? options.slot_first[cell + 1] - options.slot_first[cell] : 1;
}

struct FirmRange {
  std::size_t begin = 0, end = 0;  // firm indices
  double weight = 1.0;             // the group's share of the cell's demand
  const double* initial_share = nullptr;
};

FirmRange firm_range(const FirmPopulation& firms, const OptionLists& options, std::size_t cell,
                     std::size_t group) {
  const std::size_t begin = firms.first[cell];
  const std::size_t count = firms.first[cell + 1] - begin;
  if (!options.segmented(cell)) {
    return {begin, begin + count, 1.0, options.initial_share.data() + options.first[cell]};
  }
  const std::size_t groups = firm_groups(options, cell);
  // The first count % groups groups have one firm more.
  const auto start = [&](std::size_t g) {
    return begin + g * (count / groups) + std::min(g, count % groups);
  };
  const std::size_t slot = options.slot_first[cell] + group;
  return {start(group), start(group + 1), options.slot_weight[slot],
          options.slot_initial_share.data() + options.slot_option_first[slot]};
}

void make_firms(const ScenarioSpec& spec, const OptionLists& options, std::uint64_t seed,
                FirmPopulation& firms) {
  const AgentsSpec& config = spec.agents;
  const std::size_t cn = spec.countries.size();
  const std::size_t cells = cn * spec.sectors.size();
  const auto per_cell = static_cast<std::size_t>(config.firms_per_cell);
  const std::size_t total = cells * per_cell;
  firms.first.resize(cells + 1);
  for (std::size_t cell = 0; cell <= cells; ++cell) firms.first[cell] = cell * per_cell;
  firms.size.assign(total, 1.0 / static_cast<double>(per_cell));
  firms.review_multiplier.assign(total, 1.0);
  firms.risk_aversion.assign(total, 1.0);
  firms.share.resize(per_cell * options.size());

  for (CountryId c = 0; c < spec.country_count(); ++c) {
    for (SectorId s = 0; s < spec.sector_count(); ++s) {
      const std::size_t cell = spec.cell_index(c, s);
      const std::size_t n = options.count(cell);
      const std::size_t groups = firm_groups(options, cell);
      const CounterRng rng(stream_key(seed, Population::Firms, c, s));
      const std::size_t cell_begin = firms.first[cell];
      for (std::size_t group = 0; group < groups; ++group) {
        const FirmRange range = firm_range(firms, options, cell, group);
        for (std::size_t f = range.begin; f < range.end; ++f) {
          double* own = firms.share.data() + per_cell * options.first[cell] + (f - cell_begin) * n;
          std::copy_n(range.initial_share, n, own);
        }
        const std::size_t count = range.end - range.begin;
        const std::span<double> size(firms.size.data() + range.begin, count);
        const std::span<double> review(firms.review_multiplier.data() + range.begin, count);
        const std::span<double> risk(firms.risk_aversion.data() + range.begin, count);
        if (!config.heterogeneity) {
          std::fill(size.begin(), size.end(), range.weight / static_cast<double>(count));
          continue;
        }
        double total_size = 0.0;
        for (std::size_t f = 0; f < count; ++f) {
          const std::size_t in_cell = range.begin - cell_begin + f;
          size[f] = pareto(rng.words(in_cell, kSetupCounter, kFirmSizeLane)[0],
                           config.firm_size_shape);
          total_size += size[f];
          if (config.review_spread > 0.0) {
            review[f] = lognormal_multiplier(rng.words(in_cell, kSetupCounter, kFirmReviewLane),
                                             config.review_spread);
          }
          if (config.risk_aversion_spread > 0.0) {
            risk[f] = lognormal_multiplier(rng.words(in_cell, kSetupCounter, kFirmRiskLane),
                                           config.risk_aversion_spread);
          }
        }
        for (double& value : size) value /= total_size;
        // Spread 0 keeps the multipliers at exactly 1 rather than 1 up to rounding. Means are
        // taken within the group, so each segment's first response is aggregate mode's.
        if (config.review_spread > 0.0) normalise_mean(review, size);
        if (config.risk_aversion_spread > 0.0) normalise_mean(risk, size);
        for (double& value : size) value *= range.weight;
      }
    }
  }
}

void make_workers(const ScenarioSpec& spec, std::uint64_t seed, WorkerPopulation& workers) {
  const AgentsSpec& config = spec.agents;
  const std::size_t cn = spec.countries.size();
  const auto per_country = static_cast<std::size_t>(config.workers_per_country);
  const std::size_t total = cn * per_country;
  workers.first.resize(cn + 1);
  for (std::size_t c = 0; c <= cn; ++c) workers.first[c] = c * per_country;
  workers.leave_multiplier.assign(total, 1.0);
  workers.return_multiplier.assign(total, 1.0);
  workers.location.assign(total, kAtHome);
  if (!config.heterogeneity) return;

  const std::vector<double> equal(per_country, 1.0 / static_cast<double>(per_country));
  for (CountryId c = 0; c < spec.country_count(); ++c) {
    const CounterRng rng(stream_key(seed, Population::Workers, c, 0));
    const std::size_t begin = workers.first[static_cast<std::size_t>(c)];
    const std::span<double> leave(workers.leave_multiplier.data() + begin, per_country);
    const std::span<double> back(workers.return_multiplier.data() + begin, per_country);
    for (std::size_t i = 0; i < per_country; ++i) {
      const auto skill_words = rng.words(i, kSetupCounter, kWorkerSkillLane);
      const auto ties_words = rng.words(i, kSetupCounter, kWorkerTiesLane);
      const double skill = standard_normal(skill_words[0], skill_words[1]);
      const double remote = uniform01(ties_words[0]) < config.remote_share ? 1.0 : 0.0;
      const double family = uniform01(ties_words[1]) < config.family_share ? 1.0 : 0.0;
      leave[i] = std::exp(config.skill_effect * skill + config.remote_effect * remote -
                          config.family_effect * family);
      back[i] = std::exp(config.family_effect * family);
    }
    normalise_mean(leave, equal);
    normalise_mean(back, equal);
  }
}

// A firm's own CES target under its cell's caps. Its risk aversion r scales kappa in the distrust
// term of each foreign price, relative to the start, so every firm's target at t = 0 is its
// cell's initial shares: log p_fk = log p_k + log(1 + kappa r rho) - log(1 + kappa r rho0)
// - [log(1 + kappa rho) - log(1 + kappa rho0)].
struct CellView {
  int domestic;  // the buyer's position among the cell's options
  double sigma;
  double kappa;
  std::span<const double> log_alpha, log_price, restriction, evasion, multiplier, cap;
  std::span<const double> distrust, distrust0, distrust_base;
  double mandate;
  bool quantity_only = false;  // a served-first segment: restrictions limit it by quantity alone
};

void firm_target(const CellView& cell, double risk, std::span<double> weight,
                 std::span<double> trial, std::span<unsigned char> fixed, std::span<double> out) {
  const std::size_t n = cell.log_alpha.size();
  const auto dom = static_cast<std::size_t>(cell.domestic);
  double shift = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < n; ++k) {
    double log_price = cell.log_price[k];
    if (k != dom) {
      log_price += std::log1p(cell.kappa * risk * cell.distrust[k]) -
                   std::log1p(cell.kappa * risk * cell.distrust0[k]) - cell.distrust_base[k];
    }
    // Weights in log space, shifted by their maximum, as in the cell targets.
    weight[k] = cell.log_alpha[k] - cell.sigma * log_price;
    if (std::isfinite(weight[k])) shift = std::max(shift, weight[k]);
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (!std::isfinite(weight[k]) || !std::isfinite(shift)) {
      weight[k] = 0.0;
      continue;
    }
    const double wedge = (k == dom || cell.quantity_only)
                             ? 1.0
                             : restriction_wedge(cell.restriction[k], cell.evasion[k],
                                                      cell.multiplier[k], -cell.sigma);
    weight[k] = std::exp(weight[k] - shift) * wedge;
  }
  capped_targets(weight.first(n), cell.cap, cell.domestic, cell.mandate, out, trial.first(n),
                 fixed.first(n));
}

// One group of a cell's firms (the whole cell's, or one demand segment's) through phase 4: the
// proportional cut against the group's caps, reviews, own targets. `aggregate` holds the group's
// shares (of its own demand) and receives the new ones.
struct FirmGroupStep {
  std::span<double> aggregate;
  std::span<const double> cap, target;
  double adjustment;
  const CellView* view;  // null: every reviewing firm copies `target`
};

void step_firm_group(const FirmGroupStep& group, const FirmRange& range, std::size_t cell_begin,
                     double* cell_shares, const CounterRng& rng, int step, FirmPopulation& firms,
                     AgentScratch& scratch, std::size_t row) {
  const std::size_t n = group.aggregate.size();
  const std::span<double> ratio = scratch.row(scratch.cut_ratio, row);
  const std::span<double> served = scratch.row(scratch.served, row);
  const std::span<double> weight = scratch.row(scratch.firm_weight, row);
  const std::span<double> trial = scratch.row(scratch.firm_trial, row);
  const std::span<unsigned char> fixed = scratch.row(scratch.firm_fixed, row);
  // The quantity limit rations every firm in proportion: the size-weighted sum of the cut
  // shares is min(S, cap), the aggregate mode's immediate cut.
  for (std::size_t o = 0; o < n; ++o) {
    const double aggregate = group.aggregate[o];
    ratio[o] = aggregate > group.cap[o] ? group.cap[o] / aggregate : 1.0;
    served[o] = 0.0;
  }
  for (std::size_t f = range.begin; f < range.end; ++f) {
    const std::span<double> own(cell_shares + (f - cell_begin) * n, n);
    const double review = std::min(1.0, group.adjustment * firms.review_multiplier[f]);
    const double draw =
        uniform01(rng.words(f - cell_begin, static_cast<std::uint32_t>(step))[0]);
    if (draw < review) {
      if (group.view != nullptr) {
        firm_target(*group.view, firms.risk_aversion[f], weight, trial, fixed, own);
      } else {
        std::copy(group.target.begin(), group.target.end(), own.begin());
      }
    } else {
      for (std::size_t o = 0; o < n; ++o) own[o] *= ratio[o];
    }
    const double size = firms.size[f];
    for (std::size_t o = 0; o < n; ++o) served[o] += size * own[o];
  }
  // Sizes sum to the group's weight: its shares are of its own demand.
  for (std::size_t o = 0; o < n; ++o) {
    group.aggregate[o] = clamp_rounding(served[o] / range.weight);
  }
}

void update_country_firms(const ScenarioSpec& spec, const Parameters& params,
                          const Policy& policy, const OptionPolicy& option_policy,
                          const Calibration& calibration, const Targets& targets, int step,
                          CountryId c, AgentPopulations& agents, ModelState& state) {
  const OptionLists& options = calibration.options;
  AgentScratch& scratch = agents.scratch;
  const auto row = static_cast<std::size_t>(c);
  FirmPopulation& firms = agents.firms;
  const std::span<double> base = scratch.row(scratch.distrust_base, row);
  const std::span<double> segment_base = scratch.row(scratch.segment_distrust_base, row);
  const std::span<double> distrust = scratch.row(scratch.distrust, row);
  const std::span<double> distrust0 = scratch.row(scratch.distrust0, row);

  for (SectorId s = 0; s < spec.sector_count(); ++s) {
    const SectorSpec& sector = params.sectors[static_cast<std::size_t>(s)];
    const std::size_t cell = spec.cell_index(c, s);
    const std::size_t first = options.first[cell];
    const std::size_t n = options.count(cell);
    const auto options_of = [&](const std::vector<double>& v) {
      return std::span<const double>(v.data() + first, n);
    };

    bool own_targets = false;
    for (std::size_t o = 0; o < n; ++o) {
      const auto k = static_cast<std::size_t>(options.origin[first + o]);
      // Lasting distrust counts like the events' distrust: risk-averse firms weigh both more.
      const std::size_t pair = spec.pair_index(c, static_cast<CountryId>(k));
      distrust[o] = policy.distrust[pair] + state.lasting_distrust[pair];
      distrust0[o] = spec.distrust[pair];
      base[o] = std::log1p(sector.security_sensitivity * distrust[o]) -
                std::log1p(sector.security_sensitivity * distrust0[o]);
      // Risk aversion only matters where distrust moved since the start (and kappa > 0).
      own_targets = own_targets || base[o] != 0.0;
    }
    own_targets =
        own_targets && spec.agents.heterogeneity && spec.agents.risk_aversion_spread > 0.0;
    const auto first_n = [n](std::span<double> v) { return std::span<const double>(v.first(n)); };

    const CounterRng rng(stream_key(agents.seed, Population::Firms, c, s));
    const std::size_t cell_begin = firms.first[cell];
    double* const cell_shares =
        firms.share.data() + (firms.first[cell + 1] - cell_begin) * first;

    if (!options.segmented(cell)) {
      const CellView view{options.domestic[cell],
                          sector.elasticity,
                          sector.security_sensitivity,
                          options_of(calibration.log_alpha),
                          options_of(targets.log_price),
                          options_of(option_policy.restriction),
                          options_of(option_policy.evasion),
                          options_of(option_policy.multiplier),
                          options_of(targets.cap),
                          first_n(distrust),
                          first_n(distrust0),
                          first_n(base),
                          policy.mandate[cell]};
      const FirmGroupStep group{std::span<double>(state.share.data() + first, n),
                                options_of(targets.cap), options_of(targets.target),
                                sector.adjustment, own_targets ? &view : nullptr};
      step_firm_group(group, firm_range(firms, options, cell, 0), cell_begin, cell_shares, rng,
                      step, firms, scratch, row);
      double total = 0.0;
      for (std::size_t o = 0; o < n; ++o) {
        state.rerouted[first + o] = state.share[first + o] * targets.reroute_share[first + o];
        total += state.share[first + o];
      }
      state.shortage[cell] = clamp_rounding(1.0 - total);
      continue;
    }

    // Demand segments: each segment's firms against the segment's own caps and targets (phase
    // 3 shared the cell's scarce supply among the segments); the cell's shares are the sum.
    for (std::size_t o = first; o < first + n; ++o) {
      state.share[o] = 0.0;
      state.rerouted[o] = 0.0;
    }
    for (std::size_t slot = options.slot_first[cell]; slot < options.slot_first[cell + 1];
         ++slot) {
      const auto segment_id = static_cast<std::size_t>(options.slot_segment[slot]);
      const SegmentSpec& segment = spec.segments[segment_id];
      const std::size_t at = options.slot_option_first[slot];
      const auto slot_of = [&](const std::vector<double>& v) {
        return std::span<const double>(v.data() + at, n);
      };
      // The segment's price of a foreign option carries its own distrust weight k_g kappa; the
      // firm's term is measured from the segment's start, as the cell's is from the cell's:
      // log p_g = log p - log(1 + kappa rho) + log(1 + k_g kappa rho), and the firm's own
      // term log(1 + k_g kappa r rho) - log(1 + k_g kappa r rho0) replaces the segment's.
      const double kappa = sector.security_sensitivity * segment.security_sensitivity;
      for (std::size_t o = 0; o < n; ++o) {
        segment_base[o] = std::log1p(sector.security_sensitivity * distrust[o]) -
                          std::log1p(kappa * distrust0[o]);
      }
      const CellView view{options.domestic[cell],
                          sector.elasticity * segment.elasticity,
                          kappa,
                          slot_of(calibration.slot_log_alpha),
                          options_of(targets.log_price),
                          options_of(option_policy.restriction),
                          options_of(option_policy.evasion),
                          options_of(option_policy.multiplier),
                          slot_of(targets.slot_cap),
                          first_n(distrust),
                          first_n(distrust0),
                          first_n(segment_base),
                          std::max(policy.mandate[cell],
                                   policy.segment_mandate[cell * spec.segments.size() +
                                                          segment_id]),
                          segment.served_first};
      const FirmGroupStep group{std::span<double>(state.slot_share.data() + at, n),
                                slot_of(targets.slot_cap), slot_of(targets.slot_target),
                                sector.adjustment * segment.adjustment,
                                own_targets ? &view : nullptr};
      step_firm_group(group, firm_range(firms, options, cell, slot - options.slot_first[cell]),
                      cell_begin, cell_shares, rng, step, firms, scratch, row);
      const double weight = options.slot_weight[slot];
      for (std::size_t o = 0; o < n; ++o) {
        const double share = state.slot_share[at + o];
        state.share[first + o] += weight * share;
        state.rerouted[first + o] += weight * share * targets.slot_reroute[at + o];
      }
    }
    double served = 0.0;
    for (std::size_t o = first; o < first + n; ++o) served += state.share[o];
    state.shortage[cell] = clamp_rounding(1.0 - served);
  }
}

// Destination probabilities of one country's leavers this step, accumulated in `cdf` as a
// cumulative distribution over countries; the origin's own slot is "unknown destination" (leavers
// of a channel with no weight abroad). Returns the total hazard.
double destination_distribution(const ScenarioSpec& spec, const Parameters& params,
                                const Policy& policy, const OptionLists& options,
                                const OptionPolicy& option_policy,
                                std::span<const EventSpec> events, const ModelState& state,
                                CountryId c, std::span<double> cdf) {
  const std::size_t cn = spec.countries.size();
  const auto origin = static_cast<std::size_t>(c);
  const std::span<const double> diaspora(state.diaspora.data() + origin * cn, cn);
  double abroad = 0.0;
  for (std::size_t j = 0; j < cn; ++j) {
    if (j != origin) abroad += diaspora[j];
  }
  const double network = spec.agents.network_weight;
  std::fill(cdf.begin(), cdf.end(), 0.0);
  double total_hazard = 0.0;
  for_each_emigration_channel(
      spec, params, policy, options, option_policy, events, state, c,
      [&](double hazard, std::span<const double> weights, std::span<const double> open) {
        total_hazard += hazard;
        if (!(hazard > 0.0)) return;
        // Logit over destinations: utility log(attraction x openness) + network * (share of
        // compatriots abroad who live there).
        const auto pull = [&](std::size_t j) {
          const double compatriots = abroad > 0.0 ? diaspora[j] / abroad : 0.0;
          return std::exp(network * compatriots);
        };
        double total = 0.0;
        for (std::size_t j = 0; j < weights.size(); ++j) {
          const double weight = weights[j] * open[j];
          if (j == origin || !(weight > 0.0)) continue;
          total += weight * pull(j);
        }
        if (!(total > 0.0)) {
          cdf[origin] += hazard;
          return;
        }
        for (std::size_t j = 0; j < weights.size(); ++j) {
          const double weight = weights[j] * open[j];
          if (j == origin || !(weight > 0.0)) continue;
          cdf[j] += hazard * weight * pull(j) / total;
        }
      });
  if (total_hazard > 0.0) {
    double running = 0.0;
    for (double& value : cdf) {
      running += value / total_hazard;
      value = running;
    }
  }
  return total_hazard;
}

// Inverse of the cumulative distribution; rounding that leaves the last value below 1 sends the
// draw to the last destination with any probability.
std::size_t pick_destination(std::span<const double> cdf, double draw) {
  std::size_t last = 0;
  double previous = 0.0;
  for (std::size_t j = 0; j < cdf.size(); ++j) {
    if (cdf[j] > previous) {
      if (draw < cdf[j]) return j;
      last = j;
    }
    previous = cdf[j];
  }
  return last;
}

void move_country_workers(const ScenarioSpec& spec, const Parameters& params,
                          const Policy& policy, const OptionLists& options,
                          const OptionPolicy& option_policy, std::span<const EventSpec> events,
                          int step,
                          CountryId c, AgentPopulations& agents, const ModelState& state) {
  const std::size_t cn = spec.countries.size();
  const auto origin = static_cast<std::size_t>(c);
  AgentScratch& scratch = agents.scratch;
  WorkerPopulation& workers = agents.workers;
  const std::span<double> cdf(scratch.destination_cdf.data() + origin * cn, cn);
  const std::span<std::uint64_t> leaving(scratch.leaving.data() + origin * cn, cn);
  const std::span<std::uint64_t> abroad(scratch.abroad.data() + origin * cn, cn);
  const std::span<std::uint64_t> returning(scratch.returning.data() + origin * cn, cn);
  std::fill(leaving.begin(), leaving.end(), 0);
  std::fill(abroad.begin(), abroad.end(), 0);
  std::fill(returning.begin(), returning.end(), 0);
  std::uint64_t at_home = 0;

  const double hazard = destination_distribution(spec, params, policy, options, option_policy,
                                                 events, state, c, cdf);
  const std::span<double> return_rate(scratch.return_rate.data() + origin * cn, cn);
  for (std::size_t j = 0; j < cn; ++j) {
    return_rate[j] = diaspora_return_rate(spec, params, policy, origin, j);
  }
  const CounterRng rng(stream_key(agents.seed, Population::Workers, c, 0));
  const std::size_t begin = workers.first[origin];
  const std::size_t end = workers.first[origin + 1];
  // The draws of a batch of workers first (vectorised Philox), then the decisions.
  constexpr std::size_t kBatch = 256;
  std::array<std::uint64_t, kBatch> first_words;
  std::array<std::uint64_t, kBatch> second_words;
  for (std::size_t batch = begin; batch < end; batch += kBatch) {
    const std::size_t count = std::min(kBatch, end - batch);
    rng.fill_words(batch - begin, count, static_cast<std::uint32_t>(step), 0, first_words.data(),
                   second_words.data());
    for (std::size_t j = 0; j < count; ++j) {
      const std::size_t i = batch + j;
      const double draw = uniform01(first_words[j]);
      const std::int32_t where = workers.location[i];
      if (where == kAtHome) {
        ++at_home;
        if (draw < std::min(1.0, hazard * workers.leave_multiplier[i])) {
          const std::size_t destination = pick_destination(cdf, uniform01(second_words[j]));
          workers.location[i] = static_cast<std::int32_t>(destination);
          ++leaving[destination];
        }
      } else {
        const auto place = static_cast<std::size_t>(where);
        ++abroad[place];
        if (draw < std::min(1.0, return_rate[place] * workers.return_multiplier[i])) {
          workers.location[i] = kAtHome;
          ++returning[place];
        }
      }
    }
  }
  scratch.at_home[origin] = at_home;
}

}  // namespace

AgentPopulations make_agent_populations(const ScenarioSpec& spec, const OptionLists& options,
                                        std::uint64_t seed) {
  // Each key is validated on its own; their product can still ask for more memory than any
  // machine has, which should be a clear error rather than std::bad_alloc.
  const double countries = static_cast<double>(spec.countries.size());
  // A firm holds a share per option of its cell and three attributes.
  const double firm_bytes =
      static_cast<double>(spec.agents.firms_per_cell) *
      (static_cast<double>(options.size()) +
       3.0 * countries * static_cast<double>(spec.sectors.size())) *
      8.0;
  const double worker_bytes =
      static_cast<double>(spec.agents.workers_per_country) * countries * 20.0;
  if (firm_bytes + worker_bytes > kMaxAgentBytes) {
    throw UsageError(fmt::format(
        "agents: {} firms per cell and {} workers per country need {:.1f} GB for this world "
        "({} countries, {} sectors); at most {:.0f} GB",
        spec.agents.firms_per_cell, spec.agents.workers_per_country,
        (firm_bytes + worker_bytes) / 1e9, spec.countries.size(), spec.sectors.size(),
        kMaxAgentBytes / 1e9));
  }
  // The loader refuses this with a location; a spec built in code reaches it here.
  for (std::size_t cell = 0; cell + 1 < options.slot_first.size(); ++cell) {
    if (firm_groups(options, cell) > static_cast<std::size_t>(spec.agents.firms_per_cell)) {
      throw UsageError(fmt::format(
          "agents: {} firms per cell cannot cover the {} demand segments of a cell; each "
          "segment needs its own firms",
          spec.agents.firms_per_cell, firm_groups(options, cell)));
    }
  }
  AgentPopulations agents;
  agents.seed = seed;
  make_firms(spec, options, seed, agents.firms);
  make_workers(spec, seed, agents.workers);
  const std::size_t cn = spec.countries.size();
  AgentScratch& scratch = agents.scratch;
  scratch.width = std::max<std::size_t>(options.max_count, 1);
  for (std::vector<double>* v :
       {&scratch.cut_ratio, &scratch.served, &scratch.distrust_base,
        &scratch.segment_distrust_base, &scratch.firm_weight,
        &scratch.firm_trial, &scratch.distrust, &scratch.distrust0}) {
    v->assign(cn * scratch.stride<double>(), 0.0);
  }
  scratch.destination_cdf.assign(cn * cn, 0.0);
  scratch.return_rate.assign(cn * cn, 0.0);
  scratch.firm_fixed.assign(cn * scratch.stride<unsigned char>(), 0);
  for (std::vector<std::uint64_t>* v : {&scratch.leaving, &scratch.abroad, &scratch.returning}) {
    v->assign(cn * cn, 0);
  }
  scratch.at_home.assign(cn, 0);
  scratch.talent_flow.assign(cn, 0.0);
  return agents;
}

void update_firm_shares(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                        const OptionPolicy& option_policy, const Calibration& calibration,
                        const Targets& targets, int step, WorkerTeam* team,
                        AgentPopulations& agents, ModelState& state) {
  // Each country's cells write only their own rows of the state and of the scratch.
  for_each_on(team, spec.countries.size(), [&](std::size_t c) {
    update_country_firms(spec, params, policy, option_policy, calibration, targets, step,
                         static_cast<CountryId>(c), agents, state);
  });
}

void update_worker_talent(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                          const OptionLists& options, const OptionPolicy& option_policy,
                          std::span<const EventSpec> events, int step, WorkerTeam* team,
                          AgentPopulations& agents, ModelState& state) {
  const std::size_t cn = spec.countries.size();
  for_each_on(team, cn, [&](std::size_t c) {
    move_country_workers(spec, params, policy, options, option_policy, events, step,
                         static_cast<CountryId>(c), agents, state);
  });

  // The agents are a sample of each stock: the fraction of agents abroad at j who returned is
  // the fraction of the diaspora at j that returns, the fraction of agents at home who left for
  // j is the fraction of talent that leaves for j. The accounting is then aggregate mode's.
  // Remote status is kept per cell, not per worker: returnees and leavers take the cell's
  // remote share with them (docs/model.md, Workers).
  AgentScratch& scratch = agents.scratch;
  std::fill(scratch.talent_flow.begin(), scratch.talent_flow.end(), 0.0);
  const std::span<double> flow(scratch.talent_flow);
  for (std::size_t c = 0; c < cn; ++c) {
    double back = 0.0;
    for (std::size_t j = 0; j < cn; ++j) {
      const std::uint64_t there = scratch.abroad[c * cn + j];
      if (there == 0) continue;
      const double fraction =
          static_cast<double>(scratch.returning[c * cn + j]) / static_cast<double>(there);
      back += bring_home(spec, c, j, fraction, state, flow);
    }
    state.returns[c] += back;
    state.return_flow[c] = back;
    flow[c] += back;
  }
  for (std::size_t c = 0; c < cn; ++c) convert_remote(spec, policy, c, state, flow);
  for (std::size_t c = 0; c < cn; ++c) {
    const double talent = state.talent[c];
    double leavers = 0.0;
    if (scratch.at_home[c] > 0) {
      for (std::size_t j = 0; j < cn; ++j) {
        const double moved = talent * static_cast<double>(scratch.leaving[c * cn + j]) /
                             static_cast<double>(scratch.at_home[c]);
        settle_leavers(spec, c, j, moved, state, flow);
        leavers += moved;
      }
    }
    train_and_count_leavers(spec, params, c, talent, leavers, state, flow);
  }
  apply_talent_flow(state, flow);
}

}  // namespace techdep::detail
