#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace techdep::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kLineEverySeconds = 10.0;
constexpr std::size_t kLineEveryPercent = 10;
constexpr int kBarWidth = 30;

std::string clock_text(double seconds) {
  const auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{:02}:{:02}", total / 60, total % 60);
}

struct ProgressState {
  std::string style;
  Clock::time_point start = Clock::now();
  Clock::time_point last_line = Clock::now();
  std::size_t first_done = 0;  // runs already done when this session began
  bool started = false;
  std::size_t last_decile = 0;
  bool bar_open = false;

  void report(const SweepProgress& progress) {
    if (!started) {
      first_done = progress.done > 0 ? progress.done - 1 : 0;
      started = true;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const std::size_t session_done = progress.done - first_done;
    const double eta = session_done == 0 ? 0.0
                                         : elapsed / static_cast<double>(session_done) *
                                               static_cast<double>(progress.total - progress.done);
    if (style == "json") {
      fmt::print(stderr,
                 "{{\"event\":\"run_done\",\"run\":{},\"of\":{},\"failed\":{},\"elapsed_s\":{:.3f},"
                 "\"eta_s\":{:.0f}}}\n",
                 progress.done, progress.total, progress.failed, elapsed, eta);
      std::fflush(stderr);
      return;
    }
    const std::string failed =
        progress.failed > 0 ? fmt::format(", {} failed", progress.failed) : std::string();
    if (style == "bar") {
      const auto filled = static_cast<int>(kBarWidth * progress.done / std::max<std::size_t>(1, progress.total));
      fmt::print(stderr, "\r[{}{}] {}/{} runs{}, {} elapsed, ETA {}  ",
                 std::string(static_cast<std::size_t>(filled), '#'),
                 std::string(static_cast<std::size_t>(kBarWidth - filled), '.'), progress.done,
                 progress.total, failed, clock_text(elapsed), clock_text(eta));
      std::fflush(stderr);
      bar_open = true;
      return;
    }
    const std::size_t decile = progress.done * 100 / std::max<std::size_t>(1, progress.total) /
                               kLineEveryPercent;
    const double since_line = std::chrono::duration<double>(Clock::now() - last_line).count();
    if (decile > last_decile || since_line >= kLineEverySeconds || progress.done == progress.total) {
      last_decile = decile;
      last_line = Clock::now();
      fmt::print(stderr, "progress: {}/{} runs{}, {} elapsed, ETA {}\n", progress.done,
                 progress.total, failed, clock_text(elapsed), clock_text(eta));
    }
  }

  void finish() {
    if (bar_open) fmt::print(stderr, "\n");
    bar_open = false;
  }
};

}  // namespace

ProgressReporter make_progress_reporter(const std::string& style) {
  if (style == "none") return {[](const SweepProgress&) {}, [] {}};
  auto state = std::make_shared<ProgressState>();
  state->style = style == "auto" ? (::isatty(::fileno(stderr)) != 0 ? "bar" : "lines") : style;
  return {[state](const SweepProgress& progress) { state->report(progress); },
          [state] { state->finish(); }};
}

}  // namespace techdep::cli
