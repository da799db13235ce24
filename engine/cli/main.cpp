// The `techdep` command line: builds the subcommands, parses, and maps exceptions to the
// documented exit codes. No model logic lives here.

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <fmt/format.h>
#include <fmt/ranges.h>

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
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  // Every option's default shows in --help (subcommands inherit this).
  app.option_defaults()->always_capture_default();
  app.footer(fmt::format("{}\n\nExamples:\n"
                         "  techdep validate scenarios/*.yaml\n"
                         "  techdep run scenarios/teaching-world.yaml --out runs/tw --report\n"
                         "  techdep sweep scenarios/sweep-controls.yaml --out runs/grid\n"
                         "  techdep params     (every parameter, unit, default and range)\n"
                         "Documentation: README.md and docs/",
                         exit_code::kTable));

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

  // An unknown first word is a mistyped command; CLI11 alone would only say that "a subcommand
  // is required".
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    // Commands differ in their first two letters but for sweep/serve and resolve/run/report,
    // so a shared two-letter start is a good enough guess at a typo.
    const std::string typed = argv[1];
    std::string nearest;
    for (const std::string& name : names) {
      if (typed.size() >= 2 && name.compare(0, 2, typed, 0, 2) == 0) {
        nearest = name;
        break;
      }
    }
    print_error(fmt::format("error: unknown command '{}'{}; the commands are: {} (techdep --help)",
                            argv[1], nearest.empty() ? "" : fmt::format(" (did you mean '{}'?)", nearest),
                            fmt::join(names, ", ")));
    return exit_code::kUsage;
  }

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

// A sweep records each replicate's values (megabytes for a story scenario) into fresh buffers.
// By default glibc hands such blocks back to the system when they are freed (mmap above a
// threshold, trimming the heap's top), so every replicate pays the page faults of new memory
// again: in W7 that was more than half of the time (docs/performance.md). The process keeps its
// freed memory instead, up to 256 MB; a MALLOC_* environment setting still wins.
void keep_freed_memory() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
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
