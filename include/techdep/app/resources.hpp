#pragma once
// What a run will need, estimated from the scenario's sizes before it starts, and the refusal
// when the machine cannot give it (docs/reliability.md, "Limits").

#include <cstdint>
#include <filesystem>
#include <optional>

#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

struct ResourceEstimate {
  std::uint64_t memory_bytes = 0;    ///< model state, metrics frames, agents, output buffers
  std::uint64_t output_rows = 0;     ///< rows of timeseries.csv (series x recorded steps)
  std::uint64_t output_bytes = 0;    ///< a low estimate of timeseries.csv's size
};

/// `series`: how many series the outputs select (selected_series(spec).size()).
ResourceEstimate estimate_resources(const ScenarioSpec& spec, std::uint64_t series);

/// MemAvailable from /proc/meminfo (what can be allocated without swapping), or nothing when the
/// system does not say.
std::optional<std::uint64_t> available_memory_bytes();

/// The memory check of check_resources from the sizes alone (aggregate mode), for the loader's
/// LoadOptions::before_build: a 30 KB scenario declaring 1,000 countries x 200 sectors is refused
/// before its dense tables (3.2 GB) are built. Throws IoError (exit 5).
void check_memory_before_loading(const std::string& file, std::uint64_t countries,
                                 std::uint64_t sectors,
                                 std::optional<std::uint64_t> available_memory);

/// Throws ScenarioError (`limit-exceeded`, exit 3) when the output would exceed
/// limits::kMaxOutputRows, and IoError (exit 5) when the estimated memory exceeds
/// `available_memory` or the output would not fit the free space under `out_parent`: the same
/// scenario can run on a bigger machine, so this is the environment's failure, like a full disk.
void check_resources(const ScenarioSpec& spec, const ResourceEstimate& estimate,
                     std::optional<std::uint64_t> available_memory,
                     const std::filesystem::path& out_parent);

}  // namespace techdep
