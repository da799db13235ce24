#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/report/report.hpp"

namespace techdep::cli {

namespace {

struct ReportFlags {
  ReportRequest request;
  std::string baseline;
  std::string out;
};

}  // namespace

int write_report_and_print(const ReportRequest& request) {
  const ReportOutcome outcome = write_report(request);
  fmt::print("report: {} charts{}{}, {} KiB -> {}\n", outcome.charts,
             outcome.bands ? ", replicate bands" : "", outcome.baseline ? ", baseline in grey" : "",
             (outcome.bytes + 1023) / 1024, outcome.file.string());
  return exit_code::kOk;
}

void add_report_command(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ReportFlags>();
  flags->request.threads = context.default_threads;
  CLI::App* report = app.add_subcommand(
      "report", "Write a self-contained report.html (charts, narrative, attribution) for a run folder");
  report->add_option("run_dir", flags->request.run_dir, "Run folder written by techdep run")
      ->required();
  report->add_option("--baseline", flags->baseline, "Another run folder, drawn in grey behind")
      ->check(non_empty_path());
  report->add_option("--out", flags->out, "Report file (default: RUN_DIR/report.html)")
      ->check(non_empty_path());
  report->add_option("--attribution-samples", flags->request.attribution_samples,
                     "Permutations for sampled Shapley attribution; 0 turns attribution off")
      ->check(CLI::Range(0, 100000));
  report->add_option("--attribution-exact", flags->request.attribution_exact_limit,
                     "Exact Shapley attribution up to this many events")
      ->check(CLI::Range(0, 16));
  report->add_option("--threads", flags->request.threads,
                     "Worker threads for attribution (results do not depend on it)")
      ->check(CLI::Range(1, 1024));
  report->callback([flags, &context] {
    if (!flags->baseline.empty()) flags->request.baseline_dir = flags->baseline;
    if (!flags->out.empty()) flags->request.out_file = flags->out;
    context.exit_code = write_report_and_print(flags->request);
  });
}

}  // namespace techdep::cli
