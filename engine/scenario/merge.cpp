#include "scenario/merge.hpp"

#include <algorithm>
#include <unordered_map>
#include <filesystem>

#include <fmt/format.h>

#include "scenario/checker.hpp"
#include "scenario/schema.hpp"

namespace techdep::detail {

namespace fs = std::filesystem;

std::string directory_of(const Loc& loc) {
  if (!loc.source || loc.source->name.empty() || loc.source->name.front() == '<') return ".";
  const fs::path parent = fs::path(loc.source->name).parent_path();
  return parent.empty() ? std::string{"."} : parent.string();
}

namespace {

constexpr int kMaxExtendsDepth = 32;

const Node* item_id(const Node& item) {
  if (!item.is_map()) return nullptr;
  const Node* id = item.get("id");
  return id != nullptr && id->is_scalar() ? id : nullptr;
}

bool is_id_list(const Node& node) {
  return node.is_seq() && !node.items.empty() &&
         std::all_of(node.items.begin(), node.items.end(),
                     [](const NodePtr& item) { return item_id(*item) != nullptr; });
}

NodePtr merge_id_lists(const Node& base, const Node& over) {
  auto out = std::make_shared<Node>(base);
  // By id through a hash index: a search per item made two lists of n items cost n^2.
  std::unordered_map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < out->items.size(); ++i) {
    position.emplace(item_id(*out->items[i])->text, i);
  }
  for (const NodePtr& item : over.items) {
    const std::string& id = item_id(*item)->text;
    if (const auto same = position.find(id); same != position.end()) {
      out->items[same->second] = merge_nodes(out->items[same->second], item);
    } else {
      position.emplace(id, out->items.size());
      out->items.push_back(item);
    }
  }
  return out;
}

std::string lexically_joined(const std::string& directory, const std::string& relative) {
  const fs::path path(relative);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(directory) / path).lexically_normal().string();
}

std::string canonical_name(const std::string& path) {
  std::error_code error;
  const fs::path canonical = fs::weakly_canonical(path, error);
  return error ? path : canonical.string();
}

struct ChainLoader {
  Diagnostics& diagnostics;
  std::vector<std::string>& input_files;
  std::vector<std::string> chain;  // canonical paths, outermost first
  std::vector<std::string> shown;  // as written, for the cycle message

  NodePtr load(const std::string& path) {
    input_files.push_back(path);
    return resolve(parse_yaml_file(path, diagnostics));
  }

  /// Follows the `extends` of an already parsed document; its parent paths resolve relative to
  /// the directory of the name the document was parsed under.
  NodePtr resolve(NodePtr root) {
    if (!root || !root->is_map()) return root;
    MapEntry* extends = root->find("extends");
    if (extends == nullptr) return root;
    auto child = std::make_shared<Node>(*root);
    child->entries.erase(child->entries.begin() + (extends - root->entries.data()));
    const Node& target = *extends->value;
    if (target.is_null()) return child;
    if (!target.is_scalar()) {
      diagnostics.add("wrong-type", target.loc, "extends",
                      fmt::format("extends: expected a file path, got {}", target.describe()));
      return child;
    }
    const std::string parent = lexically_joined(directory_of(target.loc), target.text);
    const std::string parent_canonical = canonical_name(parent);
    if (const auto cycle = std::find(chain.begin(), chain.end(), parent_canonical);
        cycle != chain.end()) {
      std::string text;
      for (auto it = shown.begin() + (cycle - chain.begin()); it != shown.end(); ++it) {
        text += *it + " -> ";
      }
      diagnostics.add("extends-cycle", target.loc, "extends",
                      fmt::format("extends: cycle {}{}", text, parent));
      return child;
    }
    if (static_cast<int>(chain.size()) >= kMaxExtendsDepth) {
      diagnostics.add("extends-cycle", target.loc, "extends",
                      fmt::format("extends: chain deeper than {} files", kMaxExtendsDepth));
      return child;
    }
    std::error_code error;
    if (!fs::is_regular_file(parent, error)) {
      diagnostics.add("missing-file", target.loc, "extends",
                      fmt::format("extends: cannot read '{}': {}", parent,
                                  fs::exists(parent, error) ? "not a regular file"
                                                            : "no such file"));
      return child;
    }
    chain.push_back(parent_canonical);
    shown.push_back(parent);
    NodePtr base = load(parent);
    chain.pop_back();
    shown.pop_back();
    if (!base) return child;
    if (!base->is_map()) {
      // A list, a scalar or any text file that is not a scenario (/etc/passwd reads as one long
      // scalar): merging would silently drop it.
      diagnostics.add("wrong-type", target.loc, "extends",
                      fmt::format("extends: '{}' is not a scenario: expected a map of keys at its "
                                  "top level, got {}",
                                  parent, base->describe()));
      return child;
    }
    return merge_nodes(base, child);
  }
};

// ---- overrides --------------------------------------------------------------------------------

struct Segment {
  std::string text;
  bool bracket = false;
  int column = 1;  // 1-based, in the override text
};

enum class Level { Object, IdMap, List, Free };

struct Cursor {
  Node* node;
  Level level;
  const ObjectSpec* object;  // Object: its keys; IdMap/List: the element's
};

bool parse_segments(const std::string& path, std::vector<Segment>& out, std::string& problem) {
  std::size_t i = 0;
  while (i < path.size()) {
    Segment segment;
    segment.column = static_cast<int>(i) + 1;
    if (path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string::npos) {
        problem = "unclosed '['";
        return false;
      }
      segment.text = path.substr(i + 1, close - i - 1);
      segment.bracket = true;
      i = close + 1;
      if (i < path.size() && path[i] == '.') ++i;
    } else {
      const std::size_t stop = path.find_first_of(".[", i);
      segment.text = path.substr(i, stop == std::string::npos ? std::string::npos : stop - i);
      i = stop == std::string::npos ? path.size() : stop + (path[stop] == '.' ? 1 : 0);
    }
    if (segment.text.empty()) {
      problem = "empty path segment";
      return false;
    }
    out.push_back(segment);
  }
  if (out.empty()) problem = "empty path";
  return !out.empty();
}

class OverrideApplier {
 public:
  OverrideApplier(Node& root, Diagnostics& diagnostics) : root_(root), diagnostics_(diagnostics) {}
  // Reads paths the same way the applier writes them.
  friend PathTarget techdep::detail::find_path_target(const Node&, const std::string&,
                                                      std::string&);

  void apply(const Override& override_arg, std::size_t number) {
    source_ = std::make_shared<const SourceText>(fmt::format("<--set {}>", number), override_arg.text);
    origin_ = Loc{source_, 1, 1};
    label_ = "--set";
    const std::string& text = override_arg.text;
    const std::size_t equals = text.find('=');
    std::vector<Segment> segments;
    std::string problem = "expected path=value";
    // Paths name keys and ids, which are printable ASCII; the value is checked by the YAML
    // pre-scan, but nothing else would stop invalid UTF-8 in a key created by the path.
    const std::size_t path_end = equals == std::string::npos ? text.size() : equals;
    const auto odd = std::find_if(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(path_end),
                                  [](char ch) {
                                    const auto byte = static_cast<unsigned char>(ch);
                                    return byte < 0x20 || byte >= 0x7F;
                                  });
    if (odd != text.begin() + static_cast<std::ptrdiff_t>(path_end)) {
      diagnostics_.add("bad-override", Loc{source_, 1, static_cast<int>(odd - text.begin()) + 1},
                       "",
                       fmt::format("--set: the path has a control or non-ASCII byte 0x{:02x} at "
                                   "column {}; paths are keys and ids, e.g. "
                                   "sectors.software.elasticity=4",
                                   static_cast<unsigned char>(*odd), odd - text.begin() + 1));
      return;
    }
    if (equals == std::string::npos ||
        !parse_segments(text.substr(0, equals), segments, problem)) {
      diagnostics_.add("bad-override", Loc{source_, 1, 1}, "",
                       fmt::format("--set '{}': {}, e.g. sectors.software.elasticity=4", text,
                                   problem));
      return;
    }
    if (!segments.front().bracket && segments.front().text == "extends") {
      // extends is resolved before overrides apply: setting it would change nothing, yet be
      // written into scenario.resolved.yaml, which then could not replay the run.
      diagnostics_.add("bad-override", Loc{source_, 1, 1}, "extends",
                       "--set: extends cannot be overridden (it is read before --set applies); "
                       "write a scenario file that extends the base instead");
      return;
    }
    NodePtr value;
    if (text.find_first_not_of(" \t", equals + 1) == std::string::npos) {
      value = std::make_shared<Node>();
      value->loc = Loc{source_, 1, static_cast<int>(equals) + 2};
    } else {
      value = parse_yaml_text(source_, diagnostics_, {}, equals + 1);
      if (!value) return;
    }
    set(segments, value);
  }

  /// Sets `path` to `value`; problems with the path point into `path_at`, where it is written.
  void apply_path(const std::string& path, const Loc& path_at, const NodePtr& value,
                  std::string_view label) {
    source_ = path_at.source;
    origin_ = path_at;
    label_ = label;
    std::vector<Segment> segments;
    std::string problem;
    if (!parse_segments(path, segments, problem)) {
      diagnostics_.add("unknown-path", path_at, "",
                       fmt::format("{}: path '{}': {}", label, path, problem));
      return;
    }
    set(segments, value);
  }

 private:
  // Where column `column` of the path text lies in its source.
  Loc at(int column) const { return Loc{origin_.source, origin_.line, origin_.column + column - 1}; }

  void unknown(const Segment& segment, const std::string& path, const std::string& why,
               const std::vector<std::string>& candidates) {
    diagnostics_.add("unknown-path", at(segment.column), path,
                     fmt::format("{}: unknown path '{}': {}{}", label_, path, why,
                                 did_you_mean(segment.text, candidates)));
  }

  static Cursor descend(Node& node, const Cursor& from, const FieldSpec* field) {
    if (from.level == Level::IdMap || from.level == Level::List) {
      return Cursor{&node, Level::Object, from.object};
    }
    if (from.level == Level::Object && field != nullptr) {
      switch (field->type) {
        case FieldType::Object:
          return Cursor{&node, Level::Object, field->object};
        case FieldType::IdMap:
          return Cursor{&node, Level::IdMap, field->object};
        case FieldType::ObjectList:
          return Cursor{&node, Level::List, field->object};
        default:
          break;
      }
    }
    return Cursor{&node, Level::Free, nullptr};
  }

  void set(const std::vector<Segment>& segments, const NodePtr& value) {
    Cursor cursor{&root_, Level::Object, &kScenarioObject};
    std::string path;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const Segment& segment = segments[i];
      const bool last = i + 1 == segments.size();
      const std::string parent_path = path;
      path = segment.bracket ? fmt::format("{}[{}]", path, segment.text)
                             : join_path(path, segment.text);
      Node& node = *cursor.node;
      if (segment.bracket) {
        if (!node.is_seq()) {
          unknown(segment, path, fmt::format("{} is not a list", path_text(parent_path)), {});
          return;
        }
        const auto item = find_item(node, segment.text);
        if (item == node.items.end()) {
          std::vector<std::string> ids;
          for (const NodePtr& candidate : node.items) {
            if (const Node* id = item_id(*candidate)) ids.push_back(id->text);
          }
          unknown(segment, path,
                  fmt::format("no item '{}' in {} ({} items)", segment.text, parent_path,
                              node.items.size()),
                  ids);
          return;
        }
        if (last) {
          if (value->is_null()) {
            node.items.erase(item);
          } else {
            *item = value;
          }
          return;
        }
        cursor = descend(**item, cursor, nullptr);
        continue;
      }
      if (!node.is_map()) {
        unknown(segment, path, fmt::format("{} is not a map", path_text(parent_path)), {});
        return;
      }
      const FieldSpec* field =
          cursor.level == Level::Object ? cursor.object->find(segment.text) : nullptr;
      MapEntry* entry = node.find(segment.text);
      if (entry == nullptr) {
        const bool may_add = cursor.level == Level::Object ? field != nullptr
                             : cursor.level == Level::IdMap ? last
                                                            : cursor.level == Level::Free;
        if (!may_add) {
          std::vector<std::string> candidates;
          for (const MapEntry& existing : node.entries) candidates.push_back(existing.key);
          if (cursor.level == Level::Object) {
            for (const std::string& key : cursor.object->keys()) candidates.push_back(key);
          }
          unknown(segment, path, fmt::format("no key '{}' in {}", segment.text,
                                             path_text(parent_path)),
                  candidates);
          return;
        }
        if (last && value->is_null()) return;
        auto created = std::make_shared<Node>();
        created->kind = Node::Kind::Map;
        created->loc = at(segment.column);
        node.entries.push_back(MapEntry{segment.text, created->loc, created});
        entry = &node.entries.back();
      }
      if (last) {
        if (value->is_null()) {
          node.entries.erase(node.entries.begin() + (entry - node.entries.data()));
        } else {
          entry->value = value;
          entry->key_loc = at(segment.column);
        }
        return;
      }
      cursor = descend(*entry->value, cursor, field);
    }
  }

  static std::vector<NodePtr>::iterator find_item(Node& list, const std::string& key) {
    const bool numeric = std::all_of(key.begin(), key.end(), [](char ch) {
      return ch >= '0' && ch <= '9';
    });
    if (numeric && key.size() < 9) {
      const std::size_t index = std::stoul(key);
      if (index < list.items.size()) return list.items.begin() + static_cast<std::ptrdiff_t>(index);
    }
    return std::find_if(list.items.begin(), list.items.end(), [&](const NodePtr& item) {
      const Node* id = item_id(*item);
      return id != nullptr && id->text == key;
    });
  }

  Node& root_;
  Diagnostics& diagnostics_;
  std::shared_ptr<const SourceText> source_;
  Loc origin_;
  std::string_view label_ = "--set";
};

}  // namespace

PathTarget find_path_target(const Node& root, const std::string& path, std::string& problem) {
  std::vector<Segment> segments;
  if (!parse_segments(path, segments, problem)) return {};
  // The applier's helpers take mutable nodes because it writes through them; this walk only reads.
  Node& start = const_cast<Node&>(root);
  Cursor cursor{&start, Level::Object, &kScenarioObject};
  PathTarget target;
  std::string walked;
  for (const Segment& segment : segments) {
    Node& node = *cursor.node;
    const std::string parent = walked;
    walked = segment.bracket ? fmt::format("{}[{}]", walked, segment.text)
                             : join_path(walked, segment.text);
    if (segment.bracket) {
      const auto item = node.is_seq() ? OverrideApplier::find_item(node, segment.text)
                                      : node.items.end();
      if (item == node.items.end()) {
        problem = fmt::format("no item '{}' in {}", segment.text, path_text(parent));
        return {};
      }
      cursor = OverrideApplier::descend(**item, cursor, nullptr);
      target.field = nullptr;
      continue;
    }
    MapEntry* entry = node.is_map() ? node.find(segment.text) : nullptr;
    if (entry == nullptr) {
      problem = fmt::format("no key '{}' in {}", segment.text, path_text(parent));
      return {};
    }
    const FieldSpec* field =
        cursor.level == Level::Object ? cursor.object->find(segment.text) : nullptr;
    // A value inside a country or sector map keeps the range of the map's field.
    const bool inside_values_map =
        target.field != nullptr && (target.field->type == FieldType::CountryValues ||
                                    target.field->type == FieldType::SectorValues);
    target.field = field != nullptr ? field : inside_values_map ? target.field : nullptr;
    cursor = OverrideApplier::descend(*entry->value, cursor, field);
  }
  target.node = cursor.node;
  return target;
}

NodePtr merge_nodes(const NodePtr& base, const NodePtr& over) {
  if (base->is_map() && over->is_map()) {
    auto out = std::make_shared<Node>(*base);
    // Keys through a hash index (a linear search per key is quadratic in a large map); a null
    // deletes the key, and the deleted entries are dropped once at the end.
    std::unordered_map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < out->entries.size(); ++i) position.emplace(out->entries[i].key, i);
    std::vector<bool> deleted(out->entries.size(), false);
    for (const MapEntry& entry : over->entries) {
      const auto existing = position.find(entry.key);
      if (entry.value->is_null()) {
        if (existing != position.end()) {
          deleted[existing->second] = true;
          position.erase(existing);
        }
        continue;
      }
      if (existing != position.end()) {
        MapEntry& kept = out->entries[existing->second];
        kept.value = merge_nodes(kept.value, entry.value);
        kept.key_loc = entry.key_loc;
      } else {
        position.emplace(entry.key, out->entries.size());
        out->entries.push_back(entry);
        deleted.push_back(false);
      }
    }
    if (std::find(deleted.begin(), deleted.end(), true) != deleted.end()) {
      std::vector<MapEntry> kept;
      kept.reserve(out->entries.size());
      for (std::size_t i = 0; i < out->entries.size(); ++i) {
        if (!deleted[i]) kept.push_back(std::move(out->entries[i]));
      }
      out->entries = std::move(kept);
    }
    return out;
  }
  if (is_id_list(*base) && is_id_list(*over)) return merge_id_lists(*base, *over);
  return over;
}

NodePtr load_with_extends(const std::string& path, Diagnostics& diagnostics,
                          std::vector<std::string>& input_files) {
  ChainLoader loader{diagnostics, input_files, {canonical_name(path)}, {path}};
  return loader.load(path);
}

NodePtr load_text_with_extends(const std::string& virtual_path, std::string text,
                               Diagnostics& diagnostics, std::vector<std::string>& input_files) {
  ChainLoader loader{diagnostics, input_files, {canonical_name(virtual_path)}, {virtual_path}};
  input_files.push_back(virtual_path);
  return loader.resolve(parse_yaml_text(
      std::make_shared<const SourceText>(virtual_path, std::move(text)), diagnostics));
}

void apply_path(Node& root, const std::string& path, const Loc& path_at, const NodePtr& value,
                std::string_view label, Diagnostics& diagnostics) {
  if (!root.is_map()) return;
  OverrideApplier(root, diagnostics).apply_path(path, path_at, value, label);
}

void apply_overrides(Node& root, const std::vector<Override>& overrides,
                     Diagnostics& diagnostics) {
  if (!root.is_map()) return;
  OverrideApplier applier(root, diagnostics);
  for (std::size_t i = 0; i < overrides.size(); ++i) applier.apply(overrides[i], i + 1);
}

}  // namespace techdep::detail
