// What a user's results survive, through the real binary (docs/reliability.md): SIGINT and
// SIGTERM mid-run, SIGKILL mid-run, and a disk that fills up.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"

extern char** environ;  // NOLINT: posix_spawn passes the test's environment on

namespace {

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::run_cli;
using techdep::test::TempDir;

// A run long enough to be caught mid-way whatever the build (about 15 s optimised, minutes
// under sanitizers): the 2021 world stepped 90,000 months (to year 9521), recording every
// 1000th step.
constexpr int kLongRunSteps = 90'000;
std::vector<std::string> long_run_arguments(const fs::path& out) {
  return {TECHDEP_CLI_PATH, "run", TECHDEP_SOURCE_DIR "/scenarios/world-2021.yaml",
          "--set", "time.steps=90000", "--set", "outputs.every=1000", "--out", out.string()};
}

// The hidden staging folder a run writes into before renaming it to its final name.
bool has_staging_dir(const fs::path& parent) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    if (entry.path().filename().string().find(".partial-") != std::string::npos) return true;
  }
  return false;
}

class Child {
 public:
  explicit Child(const std::vector<std::string>& arguments, const fs::path& log_dir) {
    std::vector<char*> argv;
    for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (log_dir / "stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (log_dir / "stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int status = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(status == 0);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  /// The exit code, or 128 + the signal that ended it (as a shell reports it).
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

// Waits (up to a minute, for slow sanitizer builds) until the run has reserved its folder and is
// simulating: then a signal lands mid-run.
void wait_until_simulating(const Child& child, const fs::path& parent) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!has_staging_dir(parent) && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(child.running());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(has_staging_dir(parent));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

}  // namespace

TEST_CASE("SIGINT and SIGTERM mid-run leave a consistent folder marked interrupted",
          "[reliability][cli]") {
  for (const int signal_number : {SIGINT, SIGTERM}) {
    INFO("signal " << signal_number);
    const TempDir dir;
    const fs::path out = dir.path() / "run";
    Child child(long_run_arguments(out), dir.path());
    wait_until_simulating(child, dir.path());
    ::kill(child.pid(), signal_number);
    REQUIRE(child.wait() == 130);
    CHECK_THAT(read_text(dir.path() / "stderr"), Catch::Contains("interrupted after step"));

    REQUIRE(fs::is_directory(out));
    CHECK_FALSE(has_staging_dir(dir.path()));
    const auto manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
    CHECK(manifest["status"] == "interrupted");
    CHECK(manifest["exit_code"] == 130);
    const int steps_done = manifest["runs"][0]["steps_done"];
    // How far it got depends on the build and the machine's load; that it stopped early does not.
    CHECK(steps_done < kLongRunSteps);

    // Complete lines only, each with the header's 11 fields, and the series ends on the step
    // the manifest names.
    const std::string csv = read_text(out / "timeseries.csv");
    REQUIRE(!csv.empty());
    CHECK(csv.back() == '\n');
    std::istringstream lines(csv);
    std::string line;
    int last_step = -1;
    std::getline(lines, line);
    CHECK(line == "scenario,point,replicate,step,date,country,sector,partner,segment,metric,value");
    while (std::getline(lines, line)) {
      REQUIRE(std::count(line.begin(), line.end(), ',') == 10);
      const std::size_t step_field = line.find(',', line.find(',', line.find(',') + 1) + 1) + 1;
      last_step = std::stoi(line.substr(step_field));
    }
    CHECK(last_step == steps_done);
    // Every output the manifest lists is there with the digest it names.
    for (const auto& output : manifest["outputs"]) {
      CHECK(fs::exists(out / output["file"].get<std::string>()));
    }
  }
}

TEST_CASE("SIGKILL mid-run leaves nothing under a final name; the next run clears the remains",
          "[reliability][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "run";
  {
    Child child(long_run_arguments(out), dir.path());
    wait_until_simulating(child, dir.path());
    ::kill(child.pid(), SIGKILL);
    REQUIRE(child.wait() == 128 + SIGKILL);
  }
  CHECK_FALSE(fs::exists(out));
  // Only the hidden staging folder remains, and inside it no file has a final name yet.
  std::vector<fs::path> left;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().filename() != "stdout" && entry.path().filename() != "stderr") {
      left.push_back(entry.path());
    }
  }
  REQUIRE(left.size() == 1);
  CHECK(left[0].filename().string().rfind(".run.partial-", 0) == 0);
  for (const auto& entry : fs::directory_iterator(left[0])) {
    const std::string name = entry.path().filename().string();
    INFO(name);
    // scenario.resolved.yaml is complete (written and renamed before the run began); the CSV is
    // still under its temporary name.
    CHECK((name == "scenario.resolved.yaml" || name.find(".tmp-") != std::string::npos));
  }

  // The killed process is gone, so the next run in the same folder removes its remains.
  const techdep::test::CliResult next =
      run_cli("run tests/data/cli/tiny.yaml --out '" + (dir.path() / "next").string() + "'");
  REQUIRE(next.exit_code == 0);
  CHECK_FALSE(fs::exists(left[0]));
}

TEST_CASE("A full disk gives exit code 5, names the file and leaves no run folder",
          "[reliability][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "run";
  // A 200 KiB file-size limit with SIGXFSZ ignored: write(2) fails with EFBIG, as on a full disk.
  const std::string command = std::string("cd '") + TECHDEP_SOURCE_DIR +
                              "' && trap '' XFSZ && ulimit -f 200 && exec '" + TECHDEP_CLI_PATH +
                              "' run scenarios/teaching-world.yaml --set time.steps=2000 --out '" +
                              out.string() + "' 2>'" + (dir.path() / "stderr").string() +
                              "' >/dev/null";
  const int status = std::system(("bash -c \"" + command + "\"").c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 5);
  const std::string err = read_text(dir.path() / "stderr");
  CHECK_THAT(err, Catch::Contains("timeseries.csv: cannot write: File too large"));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(has_staging_dir(dir.path()));
}
