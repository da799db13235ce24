#include <algorithm>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/serve/classroom.hpp"

namespace techdep::cli {

namespace {

struct ServeFlags {
  std::vector<std::string> scenarios;
  std::string scenario_dir;
  ServeOptions serve;
  std::size_t max_sessions = 64;
  std::string rooms;
  std::size_t max_rooms = 32;
};

// The scenario files to offer: those named, then every *.yaml of the folder (sorted).
std::vector<std::string> scenario_files(const ServeFlags& flags) {
  std::vector<std::string> files = flags.scenarios;
  std::string directory = flags.scenario_dir;
  if (directory.empty() && files.empty() && std::filesystem::is_directory("scenarios")) {
    directory = "scenarios";
  }
  if (!directory.empty()) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      if (entry.path().extension() == ".yaml") found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    for (const std::string& file : found) {
      if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
    }
  }
  return files;
}

int serve_command(const ServeFlags& flags, const CommandContext& context) {
  ClassroomOptions options;
  options.scenario_files = scenario_files(flags);
  options.max_sessions = flags.max_sessions;
  options.rooms_database = flags.rooms;
  options.max_rooms = flags.max_rooms;
  // The port opens at once; scenarios and their baselines load behind it (the page waits).
  options.load_in_background = true;
  if (flags.serve.host != "127.0.0.1" && flags.serve.host != "localhost" && flags.serve.host != "::1") {
    print_error(fmt::format(
        "serve: WARNING: listening on {}, so other computers can reach this page. Anyone on the "
        "network can run scenarios; game rooms need their room code and teacher actions the "
        "teacher key. Use only on a classroom network you trust.",
        flags.serve.host));
  }
  print_error(fmt::format("serve: loading {} scenarios and their baselines in the background",
                          options.scenario_files.size()));
  Classroom classroom(options);
  serve_classroom(classroom, flags.serve, context.interrupt, [&](int port) {
    // The URL goes to stdout (tests and scripts read the port there); the rest to stderr.
    fmt::print("serving http://{}:{}/\n", flags.serve.host, port);
    fmt::print("game rooms at http://{}:{}/game\n", flags.serve.host, port);
    std::fflush(stdout);
    print_error("serve: press Ctrl-C to stop");
  });
  return exit_code::kOk;
}

}  // namespace

void add_serve_command(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the classroom page (sliders, Setup/Step/Run/Reset, live charts) on this computer");
  serve->add_option("scenario", flags->scenarios, "Scenario files to offer (default: scenarios/*.yaml)");
  serve->add_option("--scenario-dir", flags->scenario_dir, "Offer every *.yaml of this folder too");
  serve->add_option("--port", flags->serve.port, "TCP port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--host", flags->serve.host,
                    "Address to bind (default loopback; another address exposes the page)");
  serve->add_option("--threads", flags->serve.threads, "Request threads (each open connection holds one)")->check(CLI::Range(1, 256));
  serve->add_option("--max-sessions", flags->max_sessions,
                    "Sessions kept; the least recently used is dropped beyond")
      ->check(CLI::Range(1, 4096));
  serve->add_option("--rooms", flags->rooms,
                    "SQLite file that keeps game rooms, so that a restarted server resumes them "
                    "(default: rooms live in memory only)");
  serve->add_option("--max-rooms", flags->max_rooms, "Game rooms kept at once")
      ->check(CLI::Range(1, 1024));
  serve->callback([flags, &context] { context.exit_code = serve_command(*flags, context); });
}

}  // namespace techdep::cli
