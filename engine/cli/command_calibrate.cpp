#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/app/calibrate.hpp"

namespace techdep::cli {

namespace {

struct CalibrateFlags {
  CalibrateRequest request;
  std::vector<std::string> fits;
  std::vector<std::string> sets;
  std::string out;
};

int calibrate_command(CalibrateFlags& flags, const CommandContext& context) {
  CalibrateRequest& request = flags.request;
  for (const std::string& fit : flags.fits) request.parameters.push_back(parse_fit_parameter(fit));
  request.overrides = to_overrides(flags.sets);
  if (!flags.out.empty()) request.out_dir = std::filesystem::path(flags.out);
  request.argv = context.argv;
  request.interrupt = context.interrupt;
  CalibrateOutcome outcome;
  try {
    outcome = calibrate_scenario(request);
  } catch (const Interrupted& interrupted) {
    print_error(interrupted.what());
    return exit_code::kInterrupted;
  }
  fmt::print("{}", outcome.report);
  fmt::print("OK: {} model runs -> {}\n", outcome.evaluations, outcome.out_dir.string());
  return exit_code::kOk;
}

}  // namespace

void add_calibrate_command(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<CalibrateFlags>();
  flags->request.threads = context.default_threads;
  CLI::App* command = app.add_subcommand(
      "calibrate", "Fit scenario numbers to the scenario's observations (2021-2022 only)");
  command->add_option("scenario", flags->request.scenario_path, "Scenario YAML file")->required();
  command
      ->add_option("--fit", flags->fits,
                   "A number to fit: PATH[=LOW:HIGH] (any --set path; bounds default to the "
                   "parameter's range when it is finite; repeatable)")
      ->required();
  command->add_option("--set", flags->sets, "Override a scenario value first: PATH=VALUE");
  command->add_option("--out", flags->out, "Folder to create (must not exist)")
      ->check(non_empty_path());
  command->add_option("--max-evals", flags->request.max_evaluations, "Most model runs to spend")
      ->check(CLI::Range(1, 100000));
  command->add_flag("--allow-late", flags->request.allow_late,
                    "Also fit observations dated after 2022-12 (later years are for judging)");
  command->add_option("--threads", flags->request.threads,
                      "Worker threads (results do not depend on it)")
      ->check(CLI::Range(1, 1024));
  command->callback([flags, &context] { context.exit_code = calibrate_command(*flags, context); });
}

}  // namespace techdep::cli
