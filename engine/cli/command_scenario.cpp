// validate, resolve, schema, init, params: the commands about the scenario format itself.

#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "techdep/core/error.hpp"

namespace techdep::cli {

namespace {

int validate_files(const std::vector<std::string>& files) {
  // 3 when a file is invalid; 5, as for every other command, when one cannot be read at all.
  int status = exit_code::kOk;
  bool unreadable = false;
  for (const std::string& file : files) {
    try {
      const LoadedScenario loaded = load_scenario(file);
      for (const std::string& warning : loaded.warnings) print_error(warning);
      fmt::print("{}: ok ({} countries, {} sectors, {} events, {} steps)\n", file,
                 loaded.spec.country_count(), loaded.spec.sector_count(),
                 loaded.spec.events.size(), loaded.spec.time.steps);
    } catch (const ScenarioError& error) {
      print_error(error.what());
      print_error(fmt::format("{}: invalid ({} error{})", file, error.diagnostics().size(),
                              error.diagnostics().size() == 1 ? "" : "s"));
      status = exit_code::kInvalidScenario;
    } catch (const IoError& error) {
      print_error(fmt::format("error: {}", error.what()));
      unreadable = true;
    }
  }
  return unreadable ? exit_code::kIo : status;
}

int print_params(const std::string& format) {
  const std::vector<ParamInfo>& catalogue = parameter_catalogue();
  if (format == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ParamInfo& param : catalogue) {
      nlohmann::ordered_json entry = {{"path", param.path},
                                      {"unit", param.unit},
                                      {"default", param.default_value},
                                      {"range", param.range},
                                      {"meaning", param.meaning}};
      // The range as data beside its text: programs should not parse "> 0, != 1".
      if (param.numeric) {
        nlohmann::ordered_json bounds = nlohmann::ordered_json::object();
        if (param.minimum) bounds["minimum"] = *param.minimum;
        if (param.maximum) bounds["maximum"] = *param.maximum;
        bounds["minimum_exclusive"] = param.minimum_exclusive;
        bounds["maximum_exclusive"] = param.maximum_exclusive;
        bounds["excluded"] = param.excluded;
        entry["bounds"] = bounds;
      }
      if (!param.choices.empty()) entry["choices"] = param.choices;
      list.push_back(entry);
    }
    fmt::print("{}\n", list.dump(2));
    return exit_code::kOk;
  }
  fmt::print("{:<44} {:<18} {:<10} {:<14} {}\n", "parameter", "unit", "default", "range",
             "meaning");
  for (const ParamInfo& param : catalogue) {
    fmt::print("{:<44} {:<18} {:<10} {:<14} {}\n", param.path, param.unit, param.default_value,
               param.range, param.meaning);
  }
  return exit_code::kOk;
}

struct ScenarioFlags {
  std::vector<std::string> validate_files;
  std::string resolve_file;
  std::vector<std::string> resolve_sets;
  std::string init_template = "minimal";
  std::string params_format = "table";
};

}  // namespace

void add_scenario_commands(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ScenarioFlags>();

  CLI::App* validate = app.add_subcommand("validate", "Check scenario files; all errors at once");
  validate->add_option("files", flags->validate_files, "Scenario YAML files")->required();
  validate->callback(
      [flags, &context] { context.exit_code = validate_files(flags->validate_files); });

  CLI::App* resolve =
      app.add_subcommand("resolve", "Print the effective scenario after extends and --set");
  resolve->add_option("scenario", flags->resolve_file, "Scenario YAML file")->required();
  resolve->add_option("--set", flags->resolve_sets,
                      "Override a scenario value: PATH=VALUE (repeatable)");
  resolve->callback([flags, &context] {
    LoadOptions options;
    options.overrides = to_overrides(flags->resolve_sets);
    const LoadedScenario loaded = load_scenario(flags->resolve_file, options);
    fmt::print("{}", loaded.resolved_yaml(std::filesystem::current_path().string()));
    context.exit_code = exit_code::kOk;
  });

  CLI::App* schema = app.add_subcommand("schema", "Print a JSON Schema of the scenario format");
  schema->callback([&context] {
    fmt::print("{}\n", scenario_json_schema());
    context.exit_code = exit_code::kOk;
  });

  CLI::App* init = app.add_subcommand("init", "Print a commented starter scenario");
  init->add_option("template", flags->init_template, "Starter template")
      ->check(CLI::IsMember(starter_template_names()));
  init->callback([flags, &context] {
    fmt::print("{}", starter_scenario(flags->init_template));
    context.exit_code = exit_code::kOk;
  });

  CLI::App* params = app.add_subcommand("params", "List every scenario parameter");
  params->add_option("--format", flags->params_format, "Output format")
      ->check(CLI::IsMember({"table", "json"}));
  params->callback(
      [flags, &context] { context.exit_code = print_params(flags->params_format); });
}

}  // namespace techdep::cli
