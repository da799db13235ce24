// The `techdep` command line: builds the subcommands, parses, and maps exceptions to the
// documented exit codes. No model logic lives here.

#include <csignal>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/core/build_info.hpp"
#include "techdep/core/error.hpp"

namespace {

namespace exit_code = techdep::exit_code;
using techdep::cli::print_error;

// Written by the signal handler, read by long-running commands between steps.
std::atomic<bool> g_interrupt_requested{false};  // NOLINT: signal handlers need a global

extern "C" void request_interrupt(int /*signal*/) { g_interrupt_requested.store(true); }

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = &request_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string version_text() {
  const techdep::BuildInfo& build = techdep::build_info();
  return fmt::format("techdep {} (commit {}, {} build, {})", build.version, build.git_commit,
                     build.build_type, build.compiler);
}

int run_cli(int argc, char** argv) {
  CLI::App app{"techdep: a simulator of geopolitical technology dependency"};
  app.footer(exit_code::kTable);
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);

  techdep::cli::CommandContext context;
  context.default_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  context.argv.assign(argv, argv + argc);
  context.interrupt = &g_interrupt_requested;
  install_interrupt_handlers();

  techdep::cli::add_run_command(app, context);
  techdep::cli::add_scenario_commands(app, context);
  techdep::cli::add_whatif_commands(app, context);
  techdep::cli::add_network_command(app, context);
  techdep::cli::add_sweep_commands(app, context);
  techdep::cli::add_report_command(app, context);
  techdep::cli::add_serve_command(app, context);
  techdep::cli::add_calibrate_command(app, context);

  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::Success& success) {
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return exit_code::kUsage;
  }
  return context.exit_code;
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
