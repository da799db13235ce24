#pragma once
// Semantic validation of the merged document and translation into a ScenarioSpec.

#include "scenario/checker.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// Validates `root` (extends merged, overrides applied, CSV tables inlined) and builds the spec.
/// Problems go to `checker`; the returned spec is only meaningful when none were recorded.
ScenarioSpec build_spec(const Node& root, Checker& checker);

/// Months per step of a `time.step` value.
int months_per_step(StepUnit unit);

}  // namespace techdep::detail
