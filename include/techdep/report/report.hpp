#pragma once
// `techdep report RUN_DIR`: one self-contained report.html (uPlot, the data and the text inline;
// no network when viewing) built from a run folder's files: the story and sources, a generated
// narrative, charts of the focus countries with bands (summary.csv) and a grey baseline (another
// run folder), the events on the time axis, each event's contribution to the headline metric and
// a provenance footer.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace techdep {

struct ReportRequest {
  std::filesystem::path run_dir;
  std::optional<std::filesystem::path> baseline_dir;  ///< a run folder drawn in grey behind
  std::optional<std::filesystem::path> out_file;      ///< default: run_dir / "report.html"
  /// Shapley attribution of the headline metric and the largest moves: exact up to this many
  /// events, sampled with `attribution_samples` permutations beyond.
  int attribution_exact_limit = 6;
  int attribution_samples = 16;
  int threads = 1;
};

struct ReportOutcome {
  std::filesystem::path file;
  std::size_t bytes = 0;
  std::size_t charts = 0;
  bool bands = false;     ///< summary.csv gave quantile bands
  bool baseline = false;
  std::vector<std::string> narrative;  ///< the generated paragraphs, as in the page
};

/// Reads the run folder (timeseries.csv, manifest.json, scenario.resolved.yaml, events.csv and,
/// when present, summary.csv), writes the report atomically and returns what it holds. Throws
/// IoError for a missing or unreadable file, ScenarioError if the resolved scenario no longer
/// loads, UsageError for a folder that is not a run folder.
ReportOutcome write_report(const ReportRequest& request);

}  // namespace techdep
