#pragma once
// The report's generated text: the largest moves of the lead country's share series, when they
// happened, and which events drove them (Shapley attribution, techdep explain).

#include <string>
#include <vector>

#include "techdep/app/compare.hpp"
#include "techdep/report/charts.hpp"

namespace techdep {

/// One series of the lead country that moved a lot between the first and the last recorded step.
struct Move {
  SeriesKey key;
  std::string label;  ///< `RUS semiconductors supplier share of CHN`
  double start = 0.0;
  double end = 0.0;
  int half_step = 0;      ///< first step by which half of the change had happened
  int steepest_step = 0;  ///< step ending the largest move between two recorded points
};

/// The `count` share series of `country` with the largest |end - start| (at least `threshold`),
/// largest first. `values(key)` gives a series at every recorded step (NaN when missing).
std::vector<Move> largest_moves(const ScenarioSpec& spec, CountryId country,
                                const std::vector<int>& steps,
                                const std::function<std::vector<double>(const SeriesKey&)>& values,
                                std::size_t count, double threshold);

/// A sentence for a move and the events that drove it, e.g. "RUS semiconductors supplier share of
/// CHN rose from 0.26 to 0.61, half of it by 2022-09 (steepest in 2022-04); export-controls-2022
/// contributed +0.31 and component-base-programme -0.02."
std::string describe_move(const ScenarioSpec& spec, const Move& move, const ExplainOutcome* drivers);

/// "Of the change in RUS sovereignty (0.13 -> 0.25 without and with the events), ..." for the
/// wedge chart's caption.
std::string describe_attribution(const std::string& label, const ExplainOutcome& attribution);

}  // namespace techdep
