#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app; its callback
// runs the command and stores the exit code. main.cpp only parses and maps exceptions.

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "techdep/report/report.hpp"
#include "techdep/app/run.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep::cli {

struct CommandContext {
  int exit_code = 0;
  int default_threads = 1;
  std::vector<std::string> argv;
  const std::atomic<bool>* interrupt = nullptr;  ///< set by SIGINT/SIGTERM
};

void add_run_command(CLI::App& app, CommandContext& context);
void add_scenario_commands(CLI::App& app, CommandContext& context);  ///< validate, resolve, schema, init, params
void add_whatif_commands(CLI::App& app, CommandContext& context);    ///< compare, explain
void add_network_command(CLI::App& app, CommandContext& context);
void add_sweep_commands(CLI::App& app, CommandContext& context);  ///< sweep, sensitivity

/// The exit code of work made of many runs (completed 0, partial 4, interrupted 130), after
/// saying on stdout/stderr where the folder is (not on MPI worker ranks).
int multi_run_exit_code(RunStatus status, const std::filesystem::path& folder, bool worker);
void add_report_command(CLI::App& app, CommandContext& context);
void add_serve_command(CLI::App& app, CommandContext& context);
void add_calibrate_command(CLI::App& app, CommandContext& context);

/// Writes a run folder's report.html and prints where it went (`report`, `run --report`).
int write_report_and_print(const ReportRequest& request);

/// `--set` texts as loader overrides.
std::vector<Override> to_overrides(const std::vector<std::string>& texts);

/// Checks for a `--seed` text: a whole number from 0 to 2^53-1 written in digits (CLI11 alone
/// would wrap -5 to 2^64-5 and clamp 2^64).
CLI::Validator seed_text();
/// Checks for a path option: an empty one (`--out ''`) is refused, not read as "not given".
CLI::Validator non_empty_path();

/// Prints a line to stderr (messages never go to stdout, which carries data).
void print_error(const std::string& message);

}  // namespace techdep::cli
