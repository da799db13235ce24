#pragma once
// Progress of long work on stderr, never on stdout (which carries data): a one-line bar on a
// terminal, plain lines every 10% or 10 s otherwise, JSON Lines for programs, or nothing.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "techdep/app/run.hpp"

namespace techdep::cli {

/// A progress callback for `style` (auto, bar, lines, json or none; `auto`: bar on a terminal, lines
/// otherwise), and `finish` to end the bar's line.
struct ProgressReporter {
  std::function<void(const SweepProgress&)> report;
  std::function<void()> finish;
};

ProgressReporter make_progress_reporter(const std::string& style);

}  // namespace techdep::cli
