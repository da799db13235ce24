#include "scenario/checker.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "techdep/core/rng.hpp"

namespace techdep::detail {

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string index_path(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string path_text(std::string_view path) {
  return path.empty() ? std::string{"the top level"} : std::string(path);
}

double per_step(double monthly_rate, int months_per_step) {
  return 1.0 - std::pow(1.0 - monthly_rate, months_per_step);
}

bool Checker::expect_map(const Node& node, std::string_view path) {
  if (node.is_map()) return true;
  error("wrong-type", node, path,
        fmt::format("{}: expected a map, got {}", path_text(path), node.describe()));
  return false;
}

bool Checker::expect_list(const Node& node, std::string_view path) {
  if (node.is_seq()) return true;
  error("wrong-type", node, path,
        fmt::format("{}: expected a list, got {}", path_text(path), node.describe()));
  return false;
}

void Checker::check_keys(const Node& map, const ObjectSpec& spec, std::string_view path,
                         bool common_only) {
  const std::vector<std::string> keys = spec.keys();
  for (const MapEntry& entry : map.entries) {
    if (spec.find(entry.key) != nullptr) continue;
    error("unknown-key", entry.key_loc, join_path(path, entry.key),
          fmt::format("unknown key '{}' in {}{}", entry.key, path_text(path),
                      did_you_mean(entry.key, keys)));
  }
  auto require = [&](const FieldSpec& field) {
    if (field.required && value_of(map, field.key) == nullptr) {
      error("missing-key", map, path,
            fmt::format("{}: missing required key '{}'", path_text(path), field.key));
    }
  };
  for (const FieldSpec& field : spec.common) require(field);
  if (common_only) return;
  for (const FieldSpec& field : spec.specific) require(field);
}

const Node* Checker::value_of(const Node& map, std::string_view key) {
  const Node* value = map.get(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}

bool parse_double(std::string_view text, double& out) {
  std::string_view view = text;
  if (!view.empty() && view.front() == '+') view.remove_prefix(1);
  const auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), out);
  return error == std::errc{} && end == view.data() + view.size() && std::isfinite(out);
}

const Node* Checker::number_node(const Node& node, std::string_view path) {
  if (!node.is_map()) return &node;
  check_keys(node, kValueObject, path);
  if (const Node* given = value_of(node, "source")) source(*given, join_path(path, "source"));
  return value_of(node, "value");
}

std::optional<double> Checker::number(const Node& node, std::string_view path,
                                      const Range& range) {
  const Node* scalar = number_node(node, path);
  if (scalar == nullptr) return std::nullopt;
  double value = 0.0;
  if (!scalar->is_scalar() || scalar->quoted || !parse_double(scalar->text, value)) {
    // A quoted or tagged number ("0.9", !!float 0.9) is a string in this format: say why.
    const bool number_as_string =
        scalar->is_scalar() && scalar->quoted && parse_double(scalar->text, value);
    error("wrong-type", *scalar, path,
          fmt::format("{}: expected a number, got {}{}", path_text(path), scalar->describe(),
                      number_as_string
                          ? ", a string because it is quoted or tagged: write the number bare"
                          : ""));
    return std::nullopt;
  }
  if (!range.contains(value)) {
    error("out-of-range", *scalar, path,
          fmt::format("{}: {} is out of range, expected {}", path_text(path), scalar->text,
                      range.text()));
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> Checker::integer(const Node& node, std::string_view path,
                                             const Range& range) {
  const Node* scalar = number_node(node, path);
  if (scalar == nullptr) return std::nullopt;
  std::int64_t value = 0;
  const std::string& text = scalar->text;
  const char* begin = text.data() + (!text.empty() && text.front() == '+' ? 1 : 0);
  const auto [end, failure] = std::from_chars(begin, text.data() + text.size(), value);
  if (!scalar->is_scalar() || scalar->quoted || failure != std::errc{} ||
      end != text.data() + text.size()) {
    error("wrong-type", *scalar, path,
          fmt::format("{}: expected a whole number, got {}", path_text(path),
                      scalar->describe()));
    return std::nullopt;
  }
  // Callers store the value in an int: 2^31 itself must already be out of range.
  if (!range.contains(static_cast<double>(value)) || value > std::numeric_limits<int>::max() ||
      value < std::numeric_limits<int>::min()) {
    error("out-of-range", *scalar, path,
          fmt::format("{}: {} is out of range, expected {}", path_text(path), text, range.text()));
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> Checker::seed(const Node& node, std::string_view path) {
  std::uint64_t value = 0;
  const std::string& text = node.text;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!node.is_scalar() || node.quoted || failure != std::errc{} ||
      end != text.data() + text.size() || value > kMaxSeed) {
    const bool too_big = failure == std::errc::result_out_of_range || (failure == std::errc{} && value > kMaxSeed);
    error(too_big ? "out-of-range" : "wrong-type", node, path,
          fmt::format("{}: expected a whole number from 0 to 2^53-1 ({}), got {}", path_text(path),
                      kMaxSeed, node.describe()));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Checker::boolean(const Node& node, std::string_view path) {
  if (node.is_scalar() && !node.quoted) {
    if (node.text == "true" || node.text == "True" || node.text == "TRUE") return true;
    if (node.text == "false" || node.text == "False" || node.text == "FALSE") return false;
  }
  error("wrong-type", node, path,
        fmt::format("{}: expected true or false, got {}", path_text(path), node.describe()));
  return std::nullopt;
}

std::optional<std::string> Checker::text(const Node& node, std::string_view path) {
  if (node.is_scalar()) return node.text;
  error("wrong-type", node, path,
        fmt::format("{}: expected text, got {}", path_text(path), node.describe()));
  return std::nullopt;
}

std::optional<std::string> Checker::choice(const Node& node, std::string_view path,
                                           std::span<const std::string_view> choices) {
  std::optional<std::string> given = text(node, path);
  if (!given) return std::nullopt;
  std::vector<std::string> names;
  for (const std::string_view name : choices) {
    if (name == *given) return given;
    names.emplace_back(name);
  }
  error("unknown-value", node, path,
        fmt::format("{}: unknown value '{}', expected one of {}{}", path_text(path), *given,
                    fmt::join(names, ", "), did_you_mean(*given, names)));
  return std::nullopt;
}

bool Checker::check_fact(const std::string& id, const Node& at, std::string_view path) {
  if (id == kAssumption || facts_.unchecked || facts_.ids.count(id) > 0) return true;
  if (!facts_.declared) {
    error("unknown-fact", at, path,
          fmt::format("{}: source '{}' names a fact but no facts file is declared (add "
                      "'facts:' or write 'assumption')",
                      path_text(path), id));
    return false;
  }
  std::vector<std::string> ids(facts_.ids.begin(), facts_.ids.end());
  ids.emplace_back(kAssumption);
  error("unknown-fact", at, path,
        fmt::format("{}: unknown fact '{}'{}", path_text(path), id, did_you_mean(id, ids)));
  return false;
}

std::optional<std::string> Checker::source(const Node& node, std::string_view path) {
  std::vector<const Node*> items;
  if (node.is_seq()) {
    for (const NodePtr& item : node.items) items.push_back(item.get());
  } else {
    items.push_back(&node);
  }
  std::string joined;
  bool ok = !items.empty();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_path = node.is_seq() ? index_path(path, i) : std::string(path);
    const std::optional<std::string> id = text(*items[i], item_path);
    if (!id) {
      ok = false;
      continue;
    }
    ok = check_fact(*id, *items[i], item_path) && ok;
    if (!joined.empty()) joined += ',';
    joined += *id;
  }
  if (items.empty()) {
    error("wrong-type", node, path,
          fmt::format("{}: expected a fact id or a list of them, got an empty list",
                      path_text(path)));
  }
  if (!ok) return std::nullopt;
  return joined;
}

double Checker::field_number(const Node& map, const ObjectSpec& spec, std::string_view key,
                             std::string_view path, int months_per_step) {
  const FieldSpec* field = spec.find(key);
  const Node* given = value_of(map, key);
  double value = field->default_value;
  if (given != nullptr) {
    value = number(*given, join_path(path, key), field->range).value_or(field->default_value);
  }
  return field->per_month ? per_step(value, months_per_step) : value;
}

}  // namespace techdep::detail
