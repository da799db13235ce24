#include "scenario/experiment.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "scenario/build_spec.hpp"
#include "scenario/merge.hpp"
#include "scenario/tables.hpp"

namespace techdep::detail {

namespace fs = std::filesystem;

namespace {

// A grid multiplies out; beyond this many points it is almost surely a mistake.
constexpr std::size_t kMaxPoints = 1'000'000;
// Points validated at load time by building the scenario at them; later points are checked when
// their runs are built (a failing run, exit code 4).
constexpr std::size_t kMaxValueChecks = 256;
constexpr std::size_t kMaxReplicates = 1'000'000;

// Keys read before any override applies, or that describe the experiment itself.
constexpr std::array<std::string_view, 6> kFixedKeys{"sweep",   "uncertain", "replicates",
                                                     "extends", "facts",     "tables"};

const ObjectSpec& uncertain_object() { return *kScenarioObject.find("uncertain")->object; }
const ObjectSpec& sweep_object() { return *kScenarioObject.find("sweep")->object; }

std::string value_text(const Node& node) {
  if (node.is_scalar()) return node.text;
  std::string text = emit_yaml(node);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

NodePtr number_node(double value, const Loc& loc) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::Scalar;
  node->text = fmt::format("{}", value);
  node->loc = loc;
  return node;
}

NodePtr without_experiment_keys(const Node& root) {
  NodePtr copy = clone(root);
  std::erase_if(copy->entries, [](const MapEntry& entry) {
    return entry.key == "sweep" || entry.key == "uncertain" || entry.key == "replicates";
  });
  return copy;
}

class ExperimentReader {
 public:
  ExperimentReader(const Node& root, Checker& checker, ScenarioSpec& spec, Experiment& experiment,
                   std::vector<std::string>& input_files)
      : root_(root), check_(checker), spec_(spec), experiment_(experiment),
        input_files_(input_files), base_(without_experiment_keys(root)) {}

  void read() {
    if (!root_.is_map()) return;
    if (const Node* replicates = Checker::value_of(root_, "replicates")) {
      const auto value = check_.integer(*replicates, "replicates",
                                        kScenarioObject.find("replicates")->range);
      if (value && static_cast<std::size_t>(*value) > kMaxReplicates) {
        check_.error("out-of-range", *replicates, "replicates",
                     fmt::format("replicates: {} is more than {}", *value, kMaxReplicates));
      } else if (value) {
        spec_.replicates = static_cast<int>(*value);
      }
    }
    read_uncertain();
    read_sweep();
    check_values();
  }

 private:
  // ---- uncertain --------------------------------------------------------------------------

  void read_uncertain() {
    const Node* list = Checker::value_of(root_, "uncertain");
    if (list == nullptr || !check_.expect_list(*list, "uncertain")) return;
    const ObjectSpec& object = uncertain_object();
    for (std::size_t i = 0; i < list->items.size(); ++i) {
      const std::string path = index_path("uncertain", i);
      const Node& item = *list->items[i];
      if (!check_.expect_map(item, path)) continue;
      check_.check_keys(item, object, path);
      const Node* path_node = Checker::value_of(item, "path");
      const Node* kind_node = Checker::value_of(item, "distribution");
      if (path_node == nullptr || kind_node == nullptr) continue;
      const auto target = check_.text(*path_node, join_path(path, "path"));
      const auto kind =
          check_.choice(*kind_node, join_path(path, "distribution"), object.find("distribution")->choices);
      if (!target || !kind) continue;
      UncertainSpec uncertain;
      uncertain.path = *target;
      if (const Node* source = Checker::value_of(item, "source")) {
        uncertain.source = check_.source(*source, join_path(path, "source")).value_or("");
      }
      if (!read_distribution(item, path, *kind, uncertain.distribution)) continue;
      if (!check_path(*target, path_node->loc, join_path(path, "path"), "uncertain",
                      number_node(uncertain.distribution.central_value(), path_node->loc))) {
        continue;
      }
      spec_.uncertain.push_back(uncertain);
      experiment_.uncertain_locs.push_back(path_node->loc);
    }
  }

  bool read_distribution(const Node& item, const std::string& path, const std::string& kind,
                         Distribution& out) {
    static const std::map<std::string, std::pair<DistributionKind, std::vector<std::string>>>
        kKinds{{"uniform", {DistributionKind::Uniform, {"min", "max"}}},
               {"triangular", {DistributionKind::Triangular, {"min", "mode", "max"}}},
               {"normal", {DistributionKind::Normal, {"mean", "sd"}}},
               {"lognormal", {DistributionKind::Lognormal, {"log_mean", "log_sd"}}}};
    static const std::vector<std::string> kParameters{"min",  "max", "mode",    "mean",
                                                      "sd",   "log_mean", "log_sd"};
    const auto& [distribution_kind, needed] = kKinds.at(kind);
    out.kind = distribution_kind;
    bool ok = true;
    std::map<std::string, double> values;
    for (const std::string& key : kParameters) {
      const Node* node = Checker::value_of(item, key);
      const bool wanted = std::find(needed.begin(), needed.end(), key) != needed.end();
      if (node == nullptr) {
        if (wanted) {
          check_.error("missing-key", item, path,
                       fmt::format("{}: a {} distribution needs '{}'", path, kind, key));
          ok = false;
        }
        continue;
      }
      if (!wanted) {
        check_.error("conflicting-keys", *node, join_path(path, key),
                     fmt::format("{}: '{}' does not apply to a {} distribution (it takes {})",
                                 path, key, kind, fmt::join(needed, ", ")));
        ok = false;
        continue;
      }
      const auto value =
          check_.number(*node, join_path(path, key), uncertain_object().find(key)->range);
      if (!value) {
        ok = false;
        continue;
      }
      values[key] = *value;
    }
    if (!ok) return false;
    out.min = values.count("min") ? values["min"] : out.min;
    out.max = values.count("max") ? values["max"] : out.max;
    out.mode = values.count("mode") ? values["mode"] : out.mode;
    out.mean = values.count("mean") ? values["mean"] : values.count("log_mean") ? values["log_mean"] : out.mean;
    out.sd = values.count("sd") ? values["sd"] : values.count("log_sd") ? values["log_sd"] : out.sd;
    const bool ranged = distribution_kind == DistributionKind::Uniform ||
                        distribution_kind == DistributionKind::Triangular;
    if (ranged && !(out.min < out.max)) {
      check_.error("out-of-range", item, path,
                   fmt::format("{}: min {} must be below max {}", path, out.min, out.max));
      return false;
    }
    if (distribution_kind == DistributionKind::Triangular &&
        (out.mode < out.min || out.mode > out.max)) {
      check_.error("out-of-range", *Checker::value_of(item, "mode"), join_path(path, "mode"),
                   fmt::format("{}: mode {} must lie in [{}, {}]", path, out.mode, out.min,
                               out.max));
      return false;
    }
    if (const Node* bounds = Checker::value_of(item, "bounds")) {
      const std::string bounds_path = join_path(path, "bounds");
      if (!bounds->is_seq() || bounds->items.size() != 2) {
        check_.error("wrong-type", *bounds, bounds_path,
                     fmt::format("{}: expected [low, high], got {}", bounds_path,
                                 bounds->describe()));
        return false;
      }
      const auto low = check_.number(*bounds->items[0], index_path(bounds_path, 0), kAnyNumber);
      const auto high = check_.number(*bounds->items[1], index_path(bounds_path, 1), kAnyNumber);
      if (!low || !high) return false;
      if (!(*low < *high)) {
        check_.error("out-of-range", *bounds, bounds_path,
                     fmt::format("{}: low {} must be below high {}", bounds_path, *low, *high));
        return false;
      }
      out.lower = *low;
      out.upper = *high;
    }
    return true;
  }

  // ---- sweep ------------------------------------------------------------------------------

  void read_sweep() {
    const Node* sweep = Checker::value_of(root_, "sweep");
    if (sweep == nullptr || !check_.expect_map(*sweep, "sweep")) return;
    check_.check_keys(*sweep, sweep_object(), "sweep");
    const Node* grid = Checker::value_of(*sweep, "grid");
    const Node* cases = Checker::value_of(*sweep, "cases");
    const Node* csv = Checker::value_of(*sweep, "from_csv");
    const int given = (grid != nullptr) + (cases != nullptr) + (csv != nullptr);
    if (given != 1) {
      check_.error(given == 0 ? "missing-key" : "conflicting-keys", *sweep, "sweep",
                   "sweep: give exactly one of 'grid', 'cases' or 'from_csv'");
      return;
    }
    if (grid != nullptr) read_grid(*grid);
    if (cases != nullptr) read_cases(*cases);
    if (csv != nullptr) read_csv_design(*csv);
    if (experiment_.points.size() > kMaxPoints) {
      check_.error("out-of-range", *sweep, "sweep",
                   fmt::format("sweep: {} points, more than {}", experiment_.points.size(),
                               kMaxPoints));
      experiment_.points.clear();
    }
    for (std::size_t column = 0; column < experiment_.paths.size(); ++column) {
      const Node* first = nullptr;
      for (const auto& point : experiment_.points) {
        if (point[column]) {
          first = point[column].get();
          break;
        }
      }
      if (first == nullptr) continue;
      if (!check_path(experiment_.paths[column], experiment_.path_locs[column],
                      "sweep", "sweep", clone(*first))) {
        experiment_.points.clear();
      }
    }
    if (experiment_.points.empty()) {
      experiment_.paths.clear();
      experiment_.path_locs.clear();
      return;
    }
    spec_.sweep.paths = experiment_.paths;
    for (const auto& point : experiment_.points) {
      std::vector<std::string>& texts = spec_.sweep.values.emplace_back();
      for (const NodePtr& value : point) texts.push_back(value ? value_text(*value) : std::string());
    }
  }

  void read_grid(const Node& grid) {
    if (!grid.is_map() || grid.entries.empty()) {
      check_.error("wrong-type", grid, "sweep.grid",
                   fmt::format("sweep.grid: expected a map path -> list of values, got {}",
                               grid.describe()));
      return;
    }
    std::vector<const Node*> lists;
    std::size_t total = 1;
    for (const MapEntry& entry : grid.entries) {
      const std::string path = join_path("sweep.grid", entry.key);
      if (!entry.value->is_seq() || entry.value->items.empty()) {
        check_.error("wrong-type", *entry.value, path,
                     fmt::format("{}: expected a non-empty list of values, got {}", path,
                                 entry.value->describe()));
        return;
      }
      experiment_.paths.push_back(entry.key);
      experiment_.path_locs.push_back(entry.key_loc);
      lists.push_back(entry.value.get());
      total *= entry.value->items.size();
      if (total > kMaxPoints) {
        check_.error("out-of-range", grid, "sweep.grid",
                     fmt::format("sweep.grid: more than {} points", kMaxPoints));
        experiment_.paths.clear();
        experiment_.path_locs.clear();
        return;
      }
    }
    // Odometer order: the first path changes slowest.
    std::vector<std::size_t> digits(lists.size(), 0);
    for (std::size_t point = 0; point < total; ++point) {
      std::vector<NodePtr>& values = experiment_.points.emplace_back();
      for (std::size_t column = 0; column < lists.size(); ++column) {
        values.push_back(lists[column]->items[digits[column]]);
      }
      for (std::size_t column = lists.size(); column-- > 0;) {
        if (++digits[column] < lists[column]->items.size()) break;
        digits[column] = 0;
      }
    }
  }

  std::size_t column_of(const std::string& path, const Loc& loc) {
    const auto found = std::find(experiment_.paths.begin(), experiment_.paths.end(), path);
    if (found != experiment_.paths.end()) {
      return static_cast<std::size_t>(found - experiment_.paths.begin());
    }
    experiment_.paths.push_back(path);
    experiment_.path_locs.push_back(loc);
    for (auto& point : experiment_.points) point.emplace_back();
    return experiment_.paths.size() - 1;
  }

  void read_cases(const Node& cases) {
    if (!check_.expect_list(cases, "sweep.cases")) return;
    for (std::size_t i = 0; i < cases.items.size(); ++i) {
      const std::string path = index_path("sweep.cases", i);
      const Node& item = *cases.items[i];
      if (!check_.expect_map(item, path)) continue;
      if (item.entries.empty()) {
        check_.error("wrong-type", item, path, fmt::format("{}: an empty case", path));
        continue;
      }
      experiment_.points.emplace_back(experiment_.paths.size());
      for (const MapEntry& entry : item.entries) {
        const std::size_t column = column_of(entry.key, entry.key_loc);
        experiment_.points.back()[column] = entry.value;
      }
    }
  }

  void read_csv_design(const Node& name) {
    const auto text = check_.text(name, "sweep.from_csv");
    if (!text) return;
    const fs::path relative(*text);
    const std::string file = relative.is_absolute()
                                  ? relative.lexically_normal().string()
                                  : (fs::path(directory_of(name.loc)) / relative).lexically_normal().string();
    const auto source = read_text_file(file, name.loc, "sweep.from_csv", check_.diagnostics());
    if (!source) return;
    input_files_.push_back(file);
    std::istringstream in(source->text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const std::vector<CsvField> fields = split_csv_line(line);
      if (experiment_.paths.empty()) {
        for (const CsvField& field : fields) {
          if (field.text.empty()) {
            check_.error("csv-format", Loc{source, number, field.column}, "sweep.from_csv",
                         "sweep.from_csv: empty column name, expected a path");
            return;
          }
          column_of(field.text, Loc{source, number, field.column});
        }
        continue;
      }
      if (fields.size() != experiment_.paths.size()) {
        check_.error("csv-format", Loc{source, number, 1}, "sweep.from_csv",
                     fmt::format("csv row: {} fields, expected {} ({})", fields.size(),
                                 experiment_.paths.size(), fmt::join(experiment_.paths, ",")));
        continue;
      }
      std::vector<NodePtr>& values = experiment_.points.emplace_back();
      for (const CsvField& field : fields) {
        if (field.text.empty()) {
          values.emplace_back();  // an empty cell leaves the scenario's value
          continue;
        }
        auto node = std::make_shared<Node>();
        node->kind = Node::Kind::Scalar;
        node->text = field.text;
        node->loc = Loc{source, number, field.column};
        values.push_back(node);
      }
    }
    if (experiment_.paths.empty()) {
      check_.error("csv-format", Loc{source, 1, 1}, "sweep.from_csv",
                   "sweep.from_csv: empty file, expected a header of paths");
    } else if (experiment_.points.empty()) {
      check_.error("csv-format", Loc{source, 1, 1}, "sweep.from_csv",
                   "sweep.from_csv: a header but no points");
    }
  }

  // ---- checks -----------------------------------------------------------------------------

  /// Applies `path` = `value` to a copy of the scenario; false (with diagnostics) if it fails.
  bool check_path(const std::string& path, const Loc& written_at, const std::string& key_path,
                  std::string_view label, const NodePtr& value) {
    const std::string head = path.substr(0, path.find_first_of(".["));
    if (std::find(kFixedKeys.begin(), kFixedKeys.end(), head) != kFixedKeys.end()) {
      check_.error("unknown-path", written_at, key_path,
                   fmt::format("{}: '{}' cannot be varied: '{}' is read before points apply",
                               label, path, head));
      return false;
    }
    const std::size_t before = check_.diagnostics().size();
    NodePtr copy = clone(*base_);
    apply_path(*copy, path, written_at, value, label, check_.diagnostics());
    return check_.diagnostics().size() == before;
  }

  /// Builds the scenario at each point (the first kMaxValueChecks of them) so that a bad value
  /// is reported at load time where it is written, not after hours of sweeping. Values apply
  /// together: shares that must sum to 1 may move in step.
  void check_values() {
    std::set<std::string> reported;
    const std::size_t checked = std::min(experiment_.points.size(), kMaxValueChecks);
    for (std::size_t point = 0; point < checked; ++point) {
      Diagnostics local;
      NodePtr copy = clone(*base_);
      const auto& values = experiment_.points[point];
      for (std::size_t column = 0; column < values.size(); ++column) {
        if (!values[column]) continue;
        apply_path(*copy, experiment_.paths[column], experiment_.path_locs[column], values[column],
                   "sweep", local);
      }
      Checker checker(local, experiment_.facts);
      build_spec(*copy, checker);
      for (Diagnostic& diagnostic : local.take()) {
        const std::string key = fmt::format("{}:{}:{}:{}", diagnostic.where.file,
                                            diagnostic.where.line, diagnostic.where.column,
                                            diagnostic.message);
        if (!reported.insert(key).second) continue;
        diagnostic.message += fmt::format(" (sweep point {})", point);
        check_.diagnostics().add_diagnostic(std::move(diagnostic));
      }
    }
  }

  const Node& root_;
  Checker& check_;
  ScenarioSpec& spec_;
  Experiment& experiment_;
  std::vector<std::string>& input_files_;
  NodePtr base_;
};

}  // namespace

void read_experiment(const Node& root, Checker& checker, ScenarioSpec& spec,
                     Experiment& experiment, std::vector<std::string>& input_files) {
  ExperimentReader(root, checker, spec, experiment, input_files).read();
}

NodePtr experiment_point(const Node& root, const ScenarioSpec& spec, const Experiment& experiment,
                         int point, const std::vector<double>& uncertain_values,
                         Diagnostics& diagnostics) {
  NodePtr copy = without_experiment_keys(root);
  if (point >= 0 && !experiment.points.empty()) {
    const auto& values = experiment.points.at(static_cast<std::size_t>(point));
    for (std::size_t column = 0; column < values.size(); ++column) {
      if (!values[column]) continue;
      apply_path(*copy, experiment.paths[column], experiment.path_locs[column], values[column],
                 "sweep", diagnostics);
    }
  }
  for (std::size_t index = 0; index < uncertain_values.size(); ++index) {
    apply_path(*copy, spec.uncertain[index].path, experiment.uncertain_locs[index],
               number_node(uncertain_values[index], experiment.uncertain_locs[index]),
               "uncertain", diagnostics);
  }
  return copy;
}

}  // namespace techdep::detail
