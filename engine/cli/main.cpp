// The `techdep` command line: parses arguments, calls the engine library, prints, and maps
// exceptions to the documented exit codes. No model logic lives here.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "techdep/app/compare.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/build_info.hpp"
#include "techdep/core/error.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace {

namespace exit_code = techdep::exit_code;

// Written by the signal handler, read by the run loop between steps.
std::atomic<bool> g_interrupt_requested{false};  // NOLINT: signal handlers need a global

extern "C" void request_interrupt(int /*signal*/) { g_interrupt_requested.store(true); }

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = &request_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void print_error(const std::string& message) { fmt::print(stderr, "{}\n", message); }

std::vector<techdep::Override> to_overrides(const std::vector<std::string>& texts) {
  std::vector<techdep::Override> overrides;
  for (const std::string& text : texts) overrides.push_back({text});
  return overrides;
}

std::string version_text() {
  const techdep::BuildInfo& build = techdep::build_info();
  return fmt::format("techdep {} (commit {}, {} build, {})", build.version, build.git_commit,
                     build.build_type, build.compiler);
}

int command_validate(const std::vector<std::string>& files) {
  int status = exit_code::kOk;
  for (const std::string& file : files) {
    try {
      const techdep::LoadedScenario loaded = techdep::load_scenario(file);
      for (const std::string& warning : loaded.warnings) print_error(warning);
      fmt::print("{}: ok ({} countries, {} sectors, {} events, {} steps)\n", file,
                 loaded.spec.country_count(), loaded.spec.sector_count(),
                 loaded.spec.events.size(), loaded.spec.time.steps);
    } catch (const techdep::ScenarioError& error) {
      print_error(error.what());
      print_error(fmt::format("{}: invalid ({} error{})", file, error.diagnostics().size(),
                              error.diagnostics().size() == 1 ? "" : "s"));
      status = exit_code::kInvalidScenario;
    } catch (const techdep::IoError& error) {
      // For validate an unreadable file is one more invalid input, so the answer stays 0 or 3.
      print_error(error.what());
      status = exit_code::kInvalidScenario;
    }
  }
  return status;
}

int command_params(const std::string& format) {
  const std::vector<techdep::ParamInfo>& catalogue = techdep::parameter_catalogue();
  if (format == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const techdep::ParamInfo& param : catalogue) {
      list.push_back({{"path", param.path},
                      {"unit", param.unit},
                      {"default", param.default_value},
                      {"range", param.range},
                      {"meaning", param.meaning}});
    }
    fmt::print("{}\n", list.dump(2));
    return exit_code::kOk;
  }
  fmt::print("{:<44} {:<18} {:<10} {:<14} {}\n", "parameter", "unit", "default", "range",
             "meaning");
  for (const techdep::ParamInfo& param : catalogue) {
    fmt::print("{:<44} {:<18} {:<10} {:<14} {}\n", param.path, param.unit, param.default_value,
               param.range, param.meaning);
  }
  return exit_code::kOk;
}

int run_cli(int argc, char** argv) {
  CLI::App app{"techdep: a simulator of geopolitical technology dependency"};
  app.footer(exit_code::kTable);
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);

  // run
  techdep::RunRequest run_request;
  std::vector<std::string> run_sets;
  std::string run_format = "long";
  std::string run_out;
  std::uint64_t run_seed = 0;
  const int default_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  run_request.threads = default_threads;
  CLI::App* run = app.add_subcommand("run", "Run a scenario and write a run folder");
  run->add_option("scenario", run_request.scenario_path, "Scenario YAML file")->required();
  run->add_option("--set", run_sets, "Override a scenario value: PATH=VALUE (repeatable)");
  CLI::Option* seed_option = run->add_option("--seed", run_seed, "Base seed (default: scenario)");
  run->add_option("--out", run_out, "Run folder to create (must not exist)");
  run->add_option("--format", run_format, "Time-series layout")
      ->check(CLI::IsMember({"long", "wide", "both"}));
  run->add_flag("--check", run_request.check_invariants,
                "Check model invariants after every phase");
  run->add_option("--threads", run_request.threads, "Worker threads (results do not depend on it)")
      ->check(CLI::Range(1, 1024));

  // validate
  std::vector<std::string> validate_files;
  CLI::App* validate = app.add_subcommand("validate", "Check scenario files; all errors at once");
  validate->add_option("files", validate_files, "Scenario YAML files")->required();

  // resolve
  std::string resolve_file;
  std::vector<std::string> resolve_sets;
  CLI::App* resolve =
      app.add_subcommand("resolve", "Print the effective scenario after extends and --set");
  resolve->add_option("scenario", resolve_file, "Scenario YAML file")->required();
  resolve->add_option("--set", resolve_sets, "Override a scenario value: PATH=VALUE (repeatable)");

  // schema, init, params
  CLI::App* schema = app.add_subcommand("schema", "Print a JSON Schema of the scenario format");
  std::string init_template = "minimal";
  CLI::App* init = app.add_subcommand("init", "Print a commented starter scenario");
  init->add_option("template", init_template, "Starter template")
      ->check(CLI::IsMember(techdep::starter_template_names()));
  std::string params_format = "table";
  CLI::App* params = app.add_subcommand("params", "List every scenario parameter");
  params->add_option("--format", params_format, "Output format")
      ->check(CLI::IsMember({"table", "json"}));

  // compare
  techdep::CompareRequest compare_request;
  compare_request.threads = default_threads;
  std::vector<std::string> compare_paths;
  std::vector<std::string> compare_sets;
  std::string compare_out;
  CLI::App* compare = app.add_subcommand(
      "compare", "Run a base and variants with common random numbers and compare every series");
  compare->add_option("scenarios", compare_paths, "BASE VARIANT... (scenario files or run folders)")
      ->required()
      ->expected(2, 1 << 20);
  compare->add_option("--set", compare_sets, "Override applied to every scenario (repeatable)");
  compare->add_option("--threshold", compare_request.threshold,
                      "Absolute difference that counts as diverging")
      ->check(CLI::NonNegativeNumber);
  compare->add_option("--out", compare_out, "Folder for differences.csv and compare_summary.csv");
  compare->add_option("--threads", compare_request.threads, "Worker threads")
      ->check(CLI::Range(1, 1024));

  // explain
  techdep::ExplainRequest explain_request;
  explain_request.threads = default_threads;
  std::vector<std::string> explain_sets;
  std::string explain_out;
  CLI::App* explain = app.add_subcommand(
      "explain", "Attribute the change in one metric to each event (Shapley values)");
  explain->add_option("scenario", explain_request.scenario, "Scenario file or run folder")
      ->required();
  explain->add_option("--metric", explain_request.metric, "Metric name")->required();
  explain->add_option("--country", explain_request.country, "Country id")->required();
  explain->add_option("--sector", explain_request.sector, "Sector id (sector metrics)");
  explain->add_option("--partner", explain_request.partner,
                      "Partner country or bloc (partner metrics)");
  explain->add_option("--at", explain_request.at, "Date (YYYY-MM) or step; default the last step");
  explain->add_option("--set", explain_sets, "Override a scenario value (repeatable)");
  explain->add_option("--exact-limit", explain_request.exact_limit,
                      "Exact Shapley values up to this many events")
      ->check(CLI::Range(0, 16));
  explain->add_option("--samples", explain_request.samples,
                      "Permutations for sampled Shapley beyond the exact limit")
      ->check(CLI::Range(1, 100000));
  explain->add_option("--out", explain_out, "Folder for explain.csv");
  explain->add_option("--threads", explain_request.threads, "Worker threads")
      ->check(CLI::Range(1, 1024));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return exit_code::kUsage;
  }

  if (*run) {
    run_request.overrides = to_overrides(run_sets);
    if (*seed_option) run_request.seed = run_seed;
    if (!run_out.empty()) run_request.out_dir = std::filesystem::path(run_out);
    run_request.format = run_format == "wide"   ? techdep::OutputFormat::Wide
                         : run_format == "both" ? techdep::OutputFormat::Both
                                                : techdep::OutputFormat::Long;
    run_request.argv.assign(argv, argv + argc);
    run_request.interrupt = &g_interrupt_requested;
    install_interrupt_handlers();
    const techdep::RunOutcome outcome = techdep::run_scenario(run_request);
    fmt::print("{}", outcome.summary);
    if (outcome.status == techdep::RunStatus::Interrupted) {
      print_error(fmt::format("interrupted after step {}: partial outputs in {}",
                              outcome.steps_done, outcome.run_dir.string()));
      return exit_code::kInterrupted;
    }
    fmt::print("OK: {} steps, {} rows -> {}\n", outcome.steps_done, outcome.timeseries_rows,
               outcome.run_dir.string());
    return exit_code::kOk;
  }
  if (*compare) {
    compare_request.base = compare_paths.front();
    compare_request.variants.assign(compare_paths.begin() + 1, compare_paths.end());
    compare_request.overrides = to_overrides(compare_sets);
    if (!compare_out.empty()) compare_request.out_dir = std::filesystem::path(compare_out);
    const techdep::CompareOutcome outcome = techdep::compare_scenarios(compare_request);
    fmt::print("{}", outcome.table);
    if (!compare_out.empty()) fmt::print("OK: comparison written to {}\n", compare_out);
    return exit_code::kOk;
  }
  if (*explain) {
    explain_request.overrides = to_overrides(explain_sets);
    if (!explain_out.empty()) explain_request.out_dir = std::filesystem::path(explain_out);
    const techdep::ExplainOutcome outcome = techdep::explain_scenario(explain_request);
    fmt::print("{}", outcome.table);
    if (!explain_out.empty()) fmt::print("OK: attribution written to {}\n", explain_out);
    return exit_code::kOk;
  }
  if (*validate) return command_validate(validate_files);
  if (*resolve) {
    techdep::LoadOptions options;
    options.overrides = to_overrides(resolve_sets);
    const techdep::LoadedScenario loaded = techdep::load_scenario(resolve_file, options);
    fmt::print("{}", loaded.resolved_yaml(std::filesystem::current_path().string()));
    return exit_code::kOk;
  }
  if (*schema) {
    fmt::print("{}\n", techdep::scenario_json_schema());
    return exit_code::kOk;
  }
  if (*init) {
    fmt::print("{}", techdep::starter_scenario(init_template));
    return exit_code::kOk;
  }
  if (*params) return command_params(params_format);
  return exit_code::kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_cli(argc, argv);
  } catch (const techdep::ScenarioError& error) {
    print_error(error.what());
    return exit_code::kInvalidScenario;
  } catch (const techdep::IoError& error) {
    print_error(fmt::format("error: {}", error.what()));
    return exit_code::kIo;
  } catch (const techdep::UsageError& error) {
    print_error(fmt::format("error: {}", error.what()));
    return exit_code::kUsage;
  } catch (const techdep::NumericalError& error) {
    print_error(fmt::format("error: {}", error.what()));
    return exit_code::kRuntimeFailure;
  } catch (const std::exception& error) {
    print_error(fmt::format("error: {}", error.what()));
    return exit_code::kRuntimeFailure;
  }
}
