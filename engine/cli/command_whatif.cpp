// compare and explain: what-if analysis.

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/app/compare.hpp"

namespace techdep::cli {

namespace {

struct WhatIfFlags {
  CompareRequest compare;
  std::vector<std::string> compare_paths;
  std::vector<std::string> compare_sets;
  std::string compare_out;
  ExplainRequest explain;
  std::vector<std::string> explain_sets;
  std::string explain_out;
  std::string explain_by = "events";
};

}  // namespace

void add_whatif_commands(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<WhatIfFlags>();
  flags->compare.threads = context.default_threads;
  flags->explain.threads = context.default_threads;

  CLI::App* compare = app.add_subcommand(
      "compare", "Run a base and variants with common random numbers and compare every series");
  compare->add_option("scenarios", flags->compare_paths,
                      "BASE VARIANT... (scenario files or run folders)")
      ->required()
      ->expected(2, 1 << 20);
  compare->add_option("--set", flags->compare_sets,
                      "Override applied to every scenario (repeatable)");
  compare->add_option("--threshold", flags->compare.threshold,
                      "Absolute difference that counts as diverging")
      ->check(CLI::NonNegativeNumber);
  compare->add_option("--out", flags->compare_out,
                      "Folder for differences.csv and compare_summary.csv")
      ->check(non_empty_path());
  compare->add_option("--threads", flags->compare.threads, "Worker threads")
      ->check(CLI::Range(1, 1024));
  compare->callback([flags, &context] {
    CompareRequest& request = flags->compare;
    request.base = flags->compare_paths.front();
    request.variants.assign(flags->compare_paths.begin() + 1, flags->compare_paths.end());
    request.overrides = to_overrides(flags->compare_sets);
    if (!flags->compare_out.empty()) request.out_dir = std::filesystem::path(flags->compare_out);
    const CompareOutcome outcome = compare_scenarios(request);
    fmt::print("{}", outcome.table);
    if (!flags->compare_out.empty()) {
      fmt::print("OK: comparison written to {}\n", flags->compare_out);
    }
    context.exit_code = exit_code::kOk;
  });

  CLI::App* explain = app.add_subcommand(
      "explain", "Attribute the change in one metric to each event (Shapley values)");
  ExplainRequest& request = flags->explain;
  explain->add_option("scenario", request.scenario, "Scenario file or run folder")->required();
  explain->add_option("--metric", request.metric, "Metric name")->required();
  explain->add_option("--country", request.country, "Country id")->required();
  explain->add_option("--sector", request.sector, "Sector id (sector metrics)");
  explain->add_option("--partner", request.partner, "Partner country or bloc (partner metrics)");
  explain->add_option("--segment", request.segment,
                      "Demand segment of the cell (per-segment metrics); default the whole demand");
  explain->add_option("--at", request.at, "Date (YYYY-MM) or step; default the last step");
  explain->add_option("--set", flags->explain_sets, "Override a scenario value (repeatable)");
  explain->add_option("--by", flags->explain_by,
                      "What to attribute the change to: events (default), or mechanisms (the "
                      "lock-in, learning and entry mechanisms the scenario switches on)")
      ->check(CLI::IsMember({"events", "mechanisms"}));
  explain->add_option("--exact-limit", request.exact_limit,
                      "Exact Shapley values up to this many events")
      ->check(CLI::Range(0, 16));
  explain->add_option("--samples", request.samples,
                      "Permutations for sampled Shapley beyond the exact limit")
      ->check(CLI::Range(1, 100000));
  explain->add_option("--out", flags->explain_out, "Folder for explain.csv")
      ->check(non_empty_path());
  explain->add_option("--threads", request.threads, "Worker threads")->check(CLI::Range(1, 1024));
  explain->callback([flags, &context] {
    flags->explain.overrides = to_overrides(flags->explain_sets);
    flags->explain.by = flags->explain_by == "mechanisms" ? ExplainPlayers::Mechanisms
                                                          : ExplainPlayers::Events;
    if (!flags->explain_out.empty()) {
      flags->explain.out_dir = std::filesystem::path(flags->explain_out);
    }
    // Said before the first run: attribution over many events takes a while.
    flags->explain.on_plan = [&](std::size_t runs, std::size_t events, bool exact) {
      print_error(fmt::format("explain: {} {} that can move the value, {} Shapley over {} "
                              "runs on {} thread{}",
                              events, flags->explain_by, exact ? "exact" : "sampled", runs,
                              flags->explain.threads,
                              flags->explain.threads == 1 ? "" : "s"));
    };
    const ExplainOutcome outcome = explain_scenario(flags->explain);
    fmt::print("{}", outcome.table);
    if (!flags->explain_out.empty()) {
      fmt::print("OK: attribution written to {}\n", flags->explain_out);
    }
    context.exit_code = exit_code::kOk;
  });
}

}  // namespace techdep::cli
