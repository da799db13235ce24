#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/progress.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/core/terminal_text.hpp"

namespace techdep::cli {

std::vector<Override> to_overrides(const std::vector<std::string>& texts) {
  std::vector<Override> overrides;
  for (const std::string& text : texts) overrides.push_back({text});
  return overrides;
}

void print_error(const std::string& message) {
  // Messages quote file contents and paths; a second escape is harmless (no control bytes left).
  fmt::print(stderr, "{}\n", escape_control_bytes(message));
}

CLI::Validator seed_text() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 16 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoull(text) > kMaxSeed) {
          return fmt::format("seed '{}': expected a whole number from 0 to 2^53-1 ({})", text,
                             kMaxSeed);
        }
        return {};
      },
      "SEED (0 to 2^53-1)");
}

CLI::Validator non_empty_path() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        return text.empty() ? std::string{"empty path: give a folder or file name"}
                            : std::string{};
      },
      "PATH");
}

namespace {

struct RunFlags {
  RunRequest request;
  std::vector<std::string> sets;
  std::string format = "long";
  std::string out;
  std::uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
  bool report = false;
  int replicates = 1;
  CLI::Option* replicates_option = nullptr;
  std::string progress = "auto";
};

int run_command(RunFlags& flags, const CommandContext& context) {
  RunRequest& request = flags.request;
  request.overrides = to_overrides(flags.sets);
  if (*flags.seed_option) request.seed = flags.seed;
  if (!flags.out.empty()) request.out_dir = std::filesystem::path(flags.out);
  request.format = flags.format == "wide"   ? OutputFormat::Wide
                   : flags.format == "both" ? OutputFormat::Both
                                            : OutputFormat::Long;
  request.argv = context.argv;
  request.interrupt = context.interrupt;
  if (*flags.replicates_option) request.replicates = flags.replicates;
  const ProgressReporter progress = make_progress_reporter(flags.progress);
  request.on_progress = progress.report;
  if (flags.report && request.summary_only) {
    throw UsageError("run: --report draws the runs' series, which --summary-only leaves out");
  }
  const RunOutcome outcome = run_scenario(request);
  progress.finish();
  if (outcome.mpi_worker) return multi_run_exit_code(outcome.status, outcome.run_dir, true);
  fmt::print("{}", outcome.summary);
  if (outcome.replicates > 1 || outcome.status == RunStatus::Partial) {
    // Several runs: a sweep folder of one point, with its own exit codes. Its report draws
    // replicate 0 with the bands of summary.csv.
    const int code = multi_run_exit_code(outcome.status, outcome.run_dir, false);
    if (!flags.report || code != exit_code::kOk) return code;
    ReportRequest report;
    report.run_dir = outcome.run_dir;
    report.threads = request.threads;
    return write_report_and_print(report);
  }
  if (outcome.status == RunStatus::Interrupted) {
    print_error(fmt::format("interrupted after step {}: partial outputs in {}", outcome.steps_done,
                            outcome.run_dir.string()));
    return exit_code::kInterrupted;
  }
  fmt::print("OK: {} steps, {} rows -> {}\n", outcome.steps_done, outcome.timeseries_rows,
             outcome.run_dir.string());
  if (flags.report) {
    ReportRequest report;
    report.run_dir = outcome.run_dir;
    report.threads = request.threads;
    return write_report_and_print(report);
  }
  return exit_code::kOk;
}

}  // namespace

void add_run_command(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<RunFlags>();
  flags->request.threads = context.default_threads;
  CLI::App* run = app.add_subcommand("run", "Run a scenario and write a run folder");
  run->add_option("scenario", flags->request.scenario_path, "Scenario YAML file")->required();
  run->add_option("--set", flags->sets, "Override a scenario value: PATH=VALUE (repeatable)");
  flags->seed_option = run->add_option("--seed", flags->seed, "Base seed (default: scenario)")
                           ->check(seed_text());
  run->add_option("--out", flags->out,
                  "Run folder to create (must not exist; default: runs/<UTC time>_<name>)")
      ->check(non_empty_path());
  flags->replicates_option =
      run->add_option("--replicates", flags->replicates,
                      "Runs with seeds run_seed(seed, replicate) (default: scenario)")
          ->check(CLI::Range(1, 1000000));
  run->add_flag("--summary-only", flags->request.summary_only,
                "Several replicates: summary.csv only, without every run's timeseries.csv");
  run->add_flag("--resume", flags->request.resume,
                "Several replicates: finish the interrupted <out>.incomplete");
  run->add_option("--progress", flags->progress, "Progress of several replicates on stderr")
      ->check(CLI::IsMember({"auto", "bar", "lines", "json", "none"}));
  run->add_option("--format", flags->format, "Time-series layout")
      ->check(CLI::IsMember({"long", "wide", "both"}));
  run->add_flag("--report", flags->report,
                "Also write report.html into the run folder (as techdep report does)");
  run->add_flag("--check", flags->request.check_invariants,
                "Check model invariants after every phase");
  run->add_option("--threads", flags->request.threads,
                  "Worker threads (results do not depend on it)")
      ->check(CLI::Range(1, 1024));
  run->callback([flags, &context] { context.exit_code = run_command(*flags, context); });
}

}  // namespace techdep::cli
