#pragma once
// Semantic validation of the merged document and translation into a ScenarioSpec.

#include <optional>

#include "scenario/checker.hpp"
#include "scenario/tables.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// Validates `root` (extends merged, overrides applied, CSV tables inlined) and builds the spec.
/// Problems go to `checker`; the returned spec is only meaningful when none were recorded.
ScenarioSpec build_spec(const Node& root, Checker& checker);

/// The same for a `root` whose `tables.supply` rows are held in `supply` instead of the tree
/// (inline_tables with `supply_out`). The rows are read without a node per cell when every one of
/// them is valid; otherwise nothing is returned, and the caller inserts the rows into the tree
/// (insert_supply_rows) and calls build_spec, so that their problems are reported exactly where
/// and in the order the tree's checks report them. What went to `checker` is then stale.
std::optional<ScenarioSpec> build_spec(const Node& root, Checker& checker,
                                       const SupplyTable& supply);

/// Months per step of a `time.step` value.
int months_per_step(StepUnit unit);

}  // namespace techdep::detail
