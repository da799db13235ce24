#pragma once
// The documented exit codes (README, `techdep --help`, docs/output-format.md). Only main.cpp
// decides which one a process returns.

namespace techdep::exit_code {

inline constexpr int kOk = 0;
inline constexpr int kRuntimeFailure = 1;  ///< the model broke an invariant, or another failure
inline constexpr int kUsage = 2;           ///< bad flags or arguments
inline constexpr int kInvalidScenario = 3; ///< the scenario failed validation
inline constexpr int kPartial = 4;         ///< some runs of a sweep failed
inline constexpr int kIo = 5;              ///< cannot read an input or write an output
inline constexpr int kInterrupted = 130;   ///< SIGINT/SIGTERM: outputs flushed, manifest says so

inline constexpr const char* kTable =
    "Exit codes: 0 ok, 1 runtime failure (numerical invariant broken), 2 usage error, "
    "3 invalid scenario, 4 partial sweep, 5 I/O error, 130 interrupted.";

}  // namespace techdep::exit_code
