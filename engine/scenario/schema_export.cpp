// The JSON Schema and the parameter catalogue, both generated from the key tables that
// validation reads (schema_tables.cpp).

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "scenario/schema.hpp"
#include "techdep/core/metric.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

namespace {

using nlohmann::json;
using detail::FieldSpec;
using detail::FieldType;
using detail::ObjectSpec;
using detail::Range;

json number_schema(const Range& range) {
  json schema = {{"type", "number"}};
  if (std::isfinite(range.min)) schema[range.min_open ? "exclusiveMinimum" : "minimum"] = range.min;
  if (std::isfinite(range.max)) schema[range.max_open ? "exclusiveMaximum" : "maximum"] = range.max;
  if (range.not_one) schema["not"] = {{"const", 1}};
  return schema;
}

json string_or_list() {
  return {{"oneOf", json::array({{{"type", "string"}},
                                 {{"type", "array"}, {"items", {{"type", "string"}}}}})}};
}

json annotated_number(const Range& range) {
  json wrapped = {{"type", "object"},
                  {"properties",
                   {{"value", number_schema(range)}, {"source", string_or_list()},
                    {"note", {{"type", "string"}}}}},
                  {"required", json::array({"value"})},
                  {"additionalProperties", false}};
  return {{"oneOf", json::array({number_schema(range), wrapped})}};
}

json values_map(const Range& range) {
  return {{"type", "object"},
          {"properties", {{"source", string_or_list()}, {"note", {{"type", "string"}}}}},
          {"additionalProperties", annotated_number(range)}};
}

json object_schema(const ObjectSpec& object, bool with_required = true);

json metric_enum() {
  json names = json::array();
  for (const MetricInfo& info : kMetricCatalogue) names.push_back(std::string(info.name));
  return {{"enum", names}};
}

json field_schema(const FieldSpec& field) {
  json schema;
  switch (field.type) {
    case FieldType::Number:
      schema = annotated_number(field.range);
      break;
    case FieldType::Integer:
      schema = {{"type", "integer"}};
      if (std::isfinite(field.range.min)) schema["minimum"] = field.range.min;
      break;
    case FieldType::Seed:
      schema = {{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxSeed}};
      break;
    case FieldType::Name:
      schema = {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9_-]*$"}};
      break;
    case FieldType::Boolean:
      schema = {{"type", "boolean"}};
      break;
    case FieldType::Date:
      schema = {{"oneOf", json::array({{{"type", "string"},
                                        {"pattern", "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"}},
                                       {{"type", "integer"}, {"minimum", 0}}})}};
      break;
    case FieldType::StartDate:
      schema = {{"type", "string"}, {"pattern", "^[0-9]{4}-[0-9]{2}$"}};
      break;
    case FieldType::Choice: {
      json choices = json::array();
      if (field.choices.empty()) {
        for (const std::string& name : detail::event_type_names()) choices.push_back(name);
      } else {
        for (const std::string_view name : field.choices) choices.push_back(std::string(name));
      }
      schema = {{"enum", choices}};
      break;
    }
    case FieldType::Source:
    case FieldType::CountryList:
    case FieldType::SectorList:
    case FieldType::SegmentList:
      schema = string_or_list();
      break;
    case FieldType::BlocList:
      schema = {{"type", "array"}, {"items", {{"type", "string"}}}};
      break;
    case FieldType::MetricName:
      schema = metric_enum();
      break;
    case FieldType::MetricList:
      schema = {{"type", "array"}, {"items", metric_enum()}};
      break;
    case FieldType::Scalar:
      schema = {{"type", json::array({"string", "number", "boolean", "null"})}};
      break;
    case FieldType::Object:
      schema = object_schema(*field.object);
      break;
    case FieldType::ObjectList:
      schema = {{"type", "array"}, {"items", object_schema(*field.object)}};
      break;
    case FieldType::IdMap:
      schema = {{"type", "object"}, {"additionalProperties", object_schema(*field.object)}};
      break;
    case FieldType::BlocMap:
      schema = {{"type", "object"}, {"additionalProperties", string_or_list()}};
      break;
    case FieldType::CountryValues:
    case FieldType::SectorValues:
      schema = values_map(field.range);
      break;
    case FieldType::CountrySectorTable:
    case FieldType::CountryCountryTable:
      schema = {{"type", "object"}, {"additionalProperties", values_map(field.range)}};
      break;
    case FieldType::SupplyTable:
    case FieldType::SiteTable:
    case FieldType::SegmentTable:
      schema = {{"type", "object"},
                {"additionalProperties",
                 {{"type", "object"}, {"additionalProperties", values_map(field.range)}}}};
      break;
    case FieldType::ShippingTable:
      schema = {{"type", "object"},
                {"additionalProperties",
                 {{"type", "object"},
                  {"additionalProperties",
                   {{"type", "object"}, {"additionalProperties", values_map(field.range)}}}}}};
      break;
    case FieldType::NumberPair:
      schema = {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 2},
                {"maxItems", 2}};
      break;
    case FieldType::PathValues:
      schema = {{"type", "object"}, {"additionalProperties", {{"type", "array"}, {"minItems", 1}}}};
      break;
    case FieldType::PathValuesList:
      schema = {{"type", "array"}, {"items", {{"type", "object"}, {"minProperties", 1}}}};
      break;
    case FieldType::Text:
    case FieldType::Id:
    case FieldType::Path:
    case FieldType::CountryRef:
    case FieldType::SectorRef:
    case FieldType::SegmentRef:
    case FieldType::BlocRef:
    case FieldType::EventRef:
    case FieldType::FactRef:
    case FieldType::ParamPath:
      schema = {{"type", "string"}};
      break;
  }
  std::string description(field.meaning);
  if (!field.unit.empty()) description += fmt::format(" [{}]", field.unit);
  if (!field.default_text.empty()) description += fmt::format(" (default: {})", field.default_text);
  schema["description"] = description;
  return schema;
}

json object_schema(const ObjectSpec& object, bool with_required) {
  json properties = json::object();
  json required = json::array();
  auto add = [&](const FieldSpec& field) {
    properties[std::string(field.key)] = field_schema(field);
    if (field.required && with_required) required.push_back(std::string(field.key));
  };
  for (const FieldSpec& field : object.common) add(field);
  // The union objects list type-specific keys that are required only for some types.
  const bool is_union = &object == &detail::kAnyEventObject || &object == &detail::kAnyThenObject;
  for (const FieldSpec& field : object.specific) {
    properties[std::string(field.key)] = field_schema(field);
    if (!is_union && field.required && with_required) required.push_back(std::string(field.key));
  }
  json schema = {{"type", "object"},
                 {"properties", properties},
                 {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  if (is_union) {
    json cases = json::array();
    for (const detail::EventTypeSpec& type : detail::kEventTypes) {
      json type_required = json::array();
      for (const FieldSpec& field : type.object->specific) {
        if (field.required) type_required.push_back(std::string(field.key));
      }
      json clause = {{"if", {{"properties", {{"type", {{"const", std::string(type.type)}}}}}}},
                     {"then", {{"required", type_required}}}};
      if (type_required.empty()) clause["then"] = json::object();
      cases.push_back(clause);
    }
    schema["allOf"] = cases;
  }
  return schema;
}

// ---- parameter catalogue ---------------------------------------------------------------------

bool is_parameter(FieldType type) {
  switch (type) {
    case FieldType::Number:
    case FieldType::Integer:
    case FieldType::Seed:
    case FieldType::Choice:
    case FieldType::StartDate:
    case FieldType::CountryValues:
    case FieldType::SectorValues:
    case FieldType::CountrySectorTable:
    case FieldType::CountryCountryTable:
    case FieldType::SupplyTable:
    case FieldType::SiteTable:
    case FieldType::ShippingTable:
    case FieldType::SegmentTable:
      return true;
    default:
      return false;
  }
}

std::string leaf_path(const std::string& prefix, const FieldSpec& field) {
  const std::string base = prefix.empty() ? std::string(field.key)
                                          : fmt::format("{}.{}", prefix, field.key);
  switch (field.type) {
    case FieldType::CountryValues:
      return base + ".<country>";
    case FieldType::SectorValues:
      return base + ".<sector>";
    case FieldType::CountrySectorTable:
      return base + ".<country>.<sector>";
    case FieldType::CountryCountryTable:
      return base + ".<country>.<partner>";
    case FieldType::SupplyTable:
      return base + ".<buyer>.<sector>.<origin>";
    case FieldType::SiteTable:
      return base + ".<sector>.<brand>.<site>";
    case FieldType::ShippingTable:
      return base + ".<buyer>.<sector>.<site>.<shipper>";
    case FieldType::SegmentTable:
      return base + ".<buyer>.<sector>.<segment>";
    default:
      return base;
  }
}

std::string range_text(const FieldSpec& field) {
  if (field.type == FieldType::Choice) {
    std::vector<std::string> names;
    if (field.choices.empty()) names = detail::event_type_names();
    for (const std::string_view name : field.choices) names.emplace_back(name);
    return fmt::format("{}", fmt::join(names, " | "));
  }
  if (field.type == FieldType::StartDate) return "YYYY-MM";
  if (field.type == FieldType::Seed) return "0 to 2^53-1";
  return field.range.text();
}

void add_parameters(const ObjectSpec& object, const std::string& prefix,
                    std::string_view meaning_suffix, std::vector<ParamInfo>& out) {
  auto add = [&](const FieldSpec& field) {
    const std::string path = prefix.empty() ? std::string(field.key)
                                            : fmt::format("{}.{}", prefix, field.key);
    switch (field.type) {
      case FieldType::Object:
        add_parameters(*field.object, path, meaning_suffix, out);
        return;
      case FieldType::IdMap:
        add_parameters(*field.object,
                       path + (field.key == "countries" ? ".<country>"
                               : field.key == "segments" ? ".<segment>"
                                                         : ".<sector>"),
                       meaning_suffix, out);
        return;
      case FieldType::ObjectList:
        if (field.object == &detail::kAnyEventObject) {
          for (const detail::EventTypeSpec& type : detail::kEventTypes) {
            add_parameters(ObjectSpec{type.object->name, {}, type.object->specific},
                           path + "[<id>]", fmt::format(" ({} events)", type.type), out);
          }
        } else if (field.object == &detail::kRuleObject) {
          add_parameters(*field.object, path + "[<id>]", meaning_suffix, out);
        }
        return;
      default:
        break;
    }
    if (!is_parameter(field.type) || field.key == "value" || field.key == "type") return;
    ParamInfo info;
    info.path = leaf_path(prefix, field);
    info.unit = std::string(field.unit);
    info.default_value = std::string(field.default_text.empty() ? "required" : field.default_text);
    info.range = range_text(field);
    info.meaning = std::string(field.meaning) + std::string(meaning_suffix);
    if (field.type == FieldType::Choice) {
      if (field.choices.empty()) info.choices = detail::event_type_names();
      for (const std::string_view name : field.choices) info.choices.emplace_back(name);
    } else if (field.type == FieldType::Seed) {
      info.numeric = true;
      info.minimum = 0.0;
      info.maximum = static_cast<double>(kMaxSeed);
    } else if (field.type != FieldType::StartDate) {
      info.numeric = true;
      if (std::isfinite(field.range.min)) info.minimum = field.range.min;
      if (std::isfinite(field.range.max)) info.maximum = field.range.max;
      info.minimum_exclusive = field.range.min_open;
      info.maximum_exclusive = field.range.max_open;
      if (field.range.not_one) info.excluded.push_back(1.0);
    }
    out.push_back(std::move(info));
  };
  for (const FieldSpec& field : object.common) add(field);
  for (const FieldSpec& field : object.specific) add(field);
}

}  // namespace

std::string scenario_json_schema() {
  json schema = object_schema(detail::kScenarioObject);
  schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  schema["title"] = "techdep scenario";
  schema["description"] =
      "A techdep scenario file (docs/scenario-format.md). Semantic checks (ids exist, shares sum "
      "to 1, events inside the horizon) are made by `techdep validate`.";
  // Editors see extends-only files too; the loader checks required keys after merging.
  schema.erase("required");
  schema["properties"]["extends"]["description"] =
      "a base scenario this one changes (path relative to this file); required keys may then "
      "come from the base";
  return schema.dump(2) + "\n";
}

const std::vector<ParamInfo>& parameter_catalogue() {
  static const std::vector<ParamInfo> kCatalogue = [] {
    std::vector<ParamInfo> out;
    add_parameters(detail::kScenarioObject, "", "", out);
    return out;
  }();
  return kCatalogue;
}

}  // namespace techdep
