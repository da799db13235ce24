// sweep and sensitivity: many runs of one scenario.

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/progress.hpp"
#include "techdep/app/sensitivity.hpp"
#include "techdep/app/sweep.hpp"

namespace techdep::cli {

int multi_run_exit_code(RunStatus status, const std::filesystem::path& folder, bool worker) {
  switch (status) {
    case RunStatus::Completed:
      if (!worker) fmt::print("OK: {}\n", folder.string());
      return exit_code::kOk;
    case RunStatus::Partial:
      if (!worker) {
        print_error(fmt::format("some runs failed (listed above and in {}/manifest.json)",
                                folder.string()));
      }
      return exit_code::kPartial;
    case RunStatus::Interrupted:
      if (!worker) {
        print_error(fmt::format("interrupted: finished runs kept in {}; finish with --resume",
                                folder.string()));
      }
      return exit_code::kInterrupted;
  }
  return exit_code::kRuntimeFailure;
}

namespace {

struct SweepFlags {
  SweepRequest request;
  std::vector<std::string> sets;
  std::string out;
  std::string progress = "auto";
  std::uint64_t seed = 0;
  int replicates = 1;
  CLI::Option* seed_option = nullptr;
  CLI::Option* replicates_option = nullptr;

  SensitivityRequest sensitivity;
  std::vector<std::string> sensitivity_sets;
  std::string sensitivity_out;
};

int sweep_command(SweepFlags& flags, const CommandContext& context) {
  SweepRequest& request = flags.request;
  request.overrides = to_overrides(flags.sets);
  if (*flags.seed_option) request.seed = flags.seed;
  if (*flags.replicates_option) request.replicates = flags.replicates;
  if (!flags.out.empty()) request.out_dir = std::filesystem::path(flags.out);
  if (request.resume && flags.out.empty()) {
    throw UsageError("sweep: --resume needs the --out folder of the interrupted sweep");
  }
  request.argv = context.argv;
  request.interrupt = context.interrupt;
  const ProgressReporter progress = make_progress_reporter(flags.progress);
  request.on_progress = progress.report;
  const SweepOutcome outcome = run_sweep(request);
  progress.finish();
  if (!outcome.mpi_worker) fmt::print("{}", outcome.summary);
  return multi_run_exit_code(outcome.status, outcome.out_dir, outcome.mpi_worker);
}

}  // namespace

void add_sweep_commands(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<SweepFlags>();
  flags->request.threads = context.default_threads;
  flags->sensitivity.threads = context.default_threads;

  CLI::App* sweep = app.add_subcommand(
      "sweep", "Run every sweep point x replicate of a scenario and summarise each point");
  sweep->add_option("scenario", flags->request.scenario_path, "Scenario YAML file")->required();
  sweep->add_option("--set", flags->sets, "Override a scenario value: PATH=VALUE (repeatable)");
  flags->seed_option = sweep->add_option("--seed", flags->seed, "Base seed (default: scenario)")
                           ->check(seed_text());
  flags->replicates_option =
      sweep->add_option("--replicates", flags->replicates, "Runs per point (default: scenario)")
          ->check(CLI::Range(1, 1000000));
  sweep->add_option("--out", flags->out, "Sweep folder to create (must not exist)")
      ->check(non_empty_path());
  sweep->add_flag("--timeseries", flags->request.write_timeseries,
                  "Also write every run's rows to timeseries.csv");
  sweep->add_flag("--resume", flags->request.resume,
                  "Finish the interrupted sweep in <out>.incomplete without redoing finished runs");
  sweep->add_flag("--check", flags->request.check_invariants,
                  "Check model invariants after every phase");
  sweep->add_option("--threads", flags->request.threads,
                    "Runs side by side (default: every core; results do not depend on it)")
      ->check(CLI::Range(1, 1024));
  sweep->add_option("--progress", flags->progress, "Progress on stderr")
      ->check(CLI::IsMember({"auto", "bar", "lines", "json", "none"}));
  sweep->callback([flags, &context] { context.exit_code = sweep_command(*flags, context); });

  CLI::App* sensitivity = app.add_subcommand(
      "sensitivity",
      "Rank the assumptions that drive one output (Morris screening or Sobol indices)");
  SensitivityRequest& request = flags->sensitivity;
  sensitivity->add_option("scenario", request.scenario, "Scenario file or run folder")->required();
  sensitivity->add_option("--metric", request.metric, "Metric name")->required();
  sensitivity->add_option("--country", request.country, "Country id")->required();
  sensitivity->add_option("--sector", request.sector, "Sector id (sector metrics)");
  sensitivity->add_option("--partner", request.partner, "Partner country or bloc");
  sensitivity->add_option("--segment", request.segment,
                          "Demand segment of the cell (per-segment metrics); default the whole "
                          "demand");
  sensitivity->add_option("--at", request.at, "Date (YYYY-MM) or step; default the last step");
  sensitivity->add_option("--param", request.params,
                          "PATH=LOW:HIGH to screen (repeatable; default: the uncertain: list)");
  sensitivity->add_option("--method", request.method,
                          "morris: elementary effects, (k + 1) x trajectories runs; sobol: first "
                          "and total variance shares, samples x (k + 2) runs")
      ->check(CLI::IsMember({"morris", "sobol"}));
  sensitivity->add_option("--samples", request.samples, "Sobol base samples (N)")
      ->check(CLI::Range(2, 1000000));
  sensitivity->add_option("--resamples", request.resamples,
                          "Sobol bootstrap resamples for the 95% intervals")
      ->check(CLI::Range(0, 100000));
  sensitivity->add_option("--trajectories", request.trajectories, "Morris trajectories (r)")
      ->check(CLI::Range(2, 10000));
  sensitivity->add_option("--levels", request.levels, "Grid levels (p, even)")
      ->check(CLI::Range(2, 100));
  sensitivity->add_option("--set", flags->sensitivity_sets, "Override a scenario value");
  sensitivity->add_option("--out", flags->sensitivity_out,
                          "Folder for sensitivity.csv and design.csv")
      ->check(non_empty_path());
  sensitivity->add_option("--threads", request.threads, "Worker threads")
      ->check(CLI::Range(1, 1024));
  sensitivity->callback([flags, &context] {
    flags->sensitivity.overrides = to_overrides(flags->sensitivity_sets);
    if (!flags->sensitivity_out.empty()) {
      flags->sensitivity.out_dir = std::filesystem::path(flags->sensitivity_out);
    }
    // The run count before the first run: a Sobol design can take hours.
    flags->sensitivity.on_plan = [&](int runs) {
      print_error(fmt::format("sensitivity ({}): {} runs on {} thread{}",
                              flags->sensitivity.method, runs, flags->sensitivity.threads,
                              flags->sensitivity.threads == 1 ? "" : "s"));
    };
    const SensitivityOutcome outcome = sensitivity_analysis(flags->sensitivity);
    fmt::print("{}", outcome.table);
    if (!flags->sensitivity_out.empty()) {
      fmt::print("OK: {} written to {}\n",
                 flags->sensitivity.method == "sobol" ? "indices" : "screening",
                 flags->sensitivity_out);
    }
    context.exit_code = exit_code::kOk;
  });
}

}  // namespace techdep::cli
