#include "techdep/app/resources.hpp"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "techdep/core/error.hpp"
#include "techdep/scenario/limits.hpp"

namespace techdep {

namespace {

// Arrays the model keeps per (buyer, sector, origin) flow: state, policy, targets, calibration,
// scratch, routes, the spec's supply table and three of each metrics frame's flow arrays in the
// two frames alive at once (engine/model/model_state.hpp). Counted generously: an estimate that
// is too low lets a run start and die of memory halfway.
constexpr std::uint64_t kBytesPerFlow = 32 * sizeof(double);
constexpr std::uint64_t kBytesPerCell = 40 * sizeof(double);
constexpr std::uint64_t kBytesPerPair = 12 * sizeof(double);
// Program, libraries, the parsed scenario and the CSV write buffers.
constexpr std::uint64_t kBaseBytes = std::uint64_t{96} << 20;
// The shortest a timeseries row gets (`name,0,0,1,2021-02,RUS,chips,,shortage,0.1`).
constexpr std::uint64_t kMinBytesPerRow = 40;

std::string human_size(std::uint64_t bytes) {
  const auto value = static_cast<double>(bytes);
  if (bytes >= (1ULL << 30)) return fmt::format("{:.1f} GiB", value / static_cast<double>(1ULL << 30));
  if (bytes >= (1ULL << 20)) return fmt::format("{:.1f} MiB", value / static_cast<double>(1ULL << 20));
  return fmt::format("{:.0f} KiB", value / 1024.0);
}

std::uint64_t aggregate_memory_bytes(std::uint64_t countries, std::uint64_t sectors) {
  const std::uint64_t cells = countries * sectors;
  return kBaseBytes + cells * countries * kBytesPerFlow + cells * kBytesPerCell +
         countries * countries * kBytesPerPair;
}

std::string not_enough_memory(const std::string& file, std::uint64_t needed,
                              std::uint64_t countries, std::uint64_t sectors, bool agents,
                              std::uint64_t available) {
  return fmt::format(
      "{}: not enough memory: the run needs about {} ({} countries x {} sectors x {} origins{}), "
      "the machine has {} available (MemAvailable); nothing was started",
      file, human_size(needed), countries, sectors, countries, agents ? ", with agents" : "",
      human_size(available));
}

}  // namespace

void check_memory_before_loading(const std::string& file, std::uint64_t countries,
                                 std::uint64_t sectors,
                                 std::optional<std::uint64_t> available_memory) {
  const std::uint64_t needed = aggregate_memory_bytes(countries, sectors);
  if (available_memory && needed > *available_memory) {
    throw IoError(not_enough_memory(file, needed, countries, sectors, false, *available_memory));
  }
}

ResourceEstimate estimate_resources(const ScenarioSpec& spec, std::uint64_t series) {
  const auto countries = static_cast<std::uint64_t>(spec.countries.size());
  const auto sectors = static_cast<std::uint64_t>(spec.sectors.size());
  const std::uint64_t cells = countries * sectors;
  ResourceEstimate estimate;
  estimate.memory_bytes = aggregate_memory_bytes(countries, sectors);
  if (spec.mode == Mode::Agents) {
    // Each firm: size, two multipliers and its own share of every origin; each worker: two
    // multipliers and a location.
    const std::uint64_t firms = cells * static_cast<std::uint64_t>(spec.agents.firms_per_cell);
    const std::uint64_t workers =
        countries * static_cast<std::uint64_t>(spec.agents.workers_per_country);
    estimate.memory_bytes += firms * (3 + countries) * sizeof(double) + workers * 20;
  }
  const int every = spec.outputs.every > 0 ? spec.outputs.every : 1;
  const auto recorded = static_cast<std::uint64_t>(spec.time.steps / every + 2);
  estimate.output_rows = series * recorded;
  estimate.output_bytes = estimate.output_rows * kMinBytesPerRow;
  return estimate;
}

std::optional<std::uint64_t> available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

void check_resources(const ScenarioSpec& spec, const ResourceEstimate& estimate,
                     std::optional<std::uint64_t> available_memory,
                     const std::filesystem::path& out_parent) {
  if (estimate.output_rows > limits::kMaxOutputRows) {
    Diagnostic diagnostic;
    diagnostic.where.file = spec.file;
    diagnostic.kind = "limit-exceeded";
    diagnostic.message = fmt::format(
        "outputs: timeseries.csv would have {} rows, the limit is {} (docs/reliability.md); "
        "record fewer steps (outputs.every), countries (outputs.countries) or metrics "
        "(outputs.metrics)",
        estimate.output_rows, limits::kMaxOutputRows);
    throw ScenarioError({diagnostic});
  }
  if (available_memory && estimate.memory_bytes > *available_memory) {
    throw IoError(not_enough_memory(spec.file, estimate.memory_bytes, spec.countries.size(),
                                    spec.sectors.size(), spec.mode == Mode::Agents,
                                    *available_memory));
  }
  struct statvfs disk {};
  const std::filesystem::path probe = out_parent.empty() ? "." : out_parent;
  // A pseudo file system (/proc, /sys) reports no blocks at all: there is no free space to
  // compare with, and creating the folder there fails with its own, truer message.
  if (::statvfs(probe.c_str(), &disk) == 0 && disk.f_blocks > 0) {
    const std::uint64_t free_bytes =
        static_cast<std::uint64_t>(disk.f_bavail) * static_cast<std::uint64_t>(disk.f_frsize);
    if (estimate.output_bytes > free_bytes) {
      throw IoError(fmt::format(
          "{}: not enough disk space: timeseries.csv alone would take at least {}, {} is free "
          "under {}; nothing was started",
          spec.file, human_size(estimate.output_bytes), human_size(free_bytes), probe.string()));
    }
  }
}

}  // namespace techdep
