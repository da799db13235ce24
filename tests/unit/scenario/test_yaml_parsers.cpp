// libyaml builds the document tree where it reads a text as yaml-cpp would, and declines the rest
// (engine/scenario/yaml_tree.cpp). Every YAML file of the repository is parsed both ways here:
// where libyaml does not decline, the trees, locations and findings must be the same.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "scenario/yaml_tree.hpp"

namespace techdep::detail {
namespace {

namespace fs = std::filesystem;

std::string describe_loc(const Loc& loc) {
  return std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

/// The first difference between two trees, or empty.
std::string difference(const Node& a, const Node& b, const std::string& path) {
  if (a.kind != b.kind) return path + ": kind";
  if (a.text != b.text) return path + ": text '" + a.text + "' against '" + b.text + "'";
  if (a.quoted != b.quoted) return path + ": quoted";
  if (a.loc.line != b.loc.line || a.loc.column != b.loc.column) {
    return path + ": at " + describe_loc(a.loc) + " against " + describe_loc(b.loc);
  }
  if (a.entries.size() != b.entries.size() || a.items.size() != b.items.size()) {
    return path + ": size";
  }
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const MapEntry& x = a.entries[i];
    const MapEntry& y = b.entries[i];
    const std::string at = path + "." + x.key;
    if (x.key != y.key) return at + ": key '" + y.key + "'";
    if (x.key_loc.line != y.key_loc.line || x.key_loc.column != y.key_loc.column) {
      return at + ": key at " + describe_loc(x.key_loc) + " against " + describe_loc(y.key_loc);
    }
    if (std::string found = difference(*x.value, *y.value, at); !found.empty()) return found;
  }
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (std::string found = difference(*a.items[i], *b.items[i], at); !found.empty()) return found;
  }
  return {};
}

std::vector<std::string> yaml_files() {
  std::vector<std::string> files;
  for (const char* folder : {"scenarios", "seeds", "tests"}) {
    const fs::path root = fs::path(TECHDEP_SOURCE_DIR) / folder;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const std::string extension = entry.path().extension().string();
      if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml")) {
        files.push_back(entry.path().string());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const SourceText> read_source(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::make_shared<const SourceText>(path, text.str());
}

TEST_CASE("libyaml and yaml-cpp build the same tree from every YAML file of the repository",
          "[scenario][yaml]") {
  const std::vector<std::string> files = yaml_files();
  REQUIRE(files.size() > 50);
  std::size_t read_by_libyaml = 0;
  for (const std::string& path : files) {
    INFO(path);
    const auto source = read_source(path);
    Diagnostics slow_found;
    Diagnostics fast_found;
    const NodePtr slow = parse_yaml_text_with(YamlParser::YamlCpp, source, slow_found);
    const NodePtr fast = parse_yaml_text_with(YamlParser::Libyaml, source, fast_found);
    if (!fast) {
      CHECK(fast_found.size() <= slow_found.size());  // only the pre-scan's findings
      continue;
    }
    ++read_by_libyaml;
    REQUIRE(slow);
    CHECK(difference(*slow, *fast, "") == "");
    REQUIRE(slow_found.size() == fast_found.size());
    for (std::size_t i = 0; i < slow_found.size(); ++i) {
      CHECK(slow_found.items()[i].message == fast_found.items()[i].message);
      CHECK(slow_found.items()[i].where.line == fast_found.items()[i].where.line);
      CHECK(slow_found.items()[i].where.column == fast_found.items()[i].where.column);
    }
  }
  // Most files keep to what both read alike; the facts file must, it is parsed on every run.
  CHECK(read_by_libyaml * 2 > files.size());
  Diagnostics facts_found;
  CHECK(parse_yaml_text_with(YamlParser::Libyaml,
                             read_source(std::string(TECHDEP_SOURCE_DIR) + "/seeds/facts.yaml"),
                             facts_found) != nullptr);
}

TEST_CASE("libyaml declines what it would read differently from yaml-cpp", "[scenario][yaml]") {
  const auto declined = [](const std::string& text) {
    Diagnostics found;
    return parse_yaml_text_with(YamlParser::Libyaml,
                                std::make_shared<const SourceText>("t.yaml", text), found) ==
           nullptr;
  };
  CHECK_FALSE(declined("a: 1\nb: {c: \"x\", d: [1, 2]}\n"));
  CHECK(declined("a:\nb: 1\n"));                 // an empty value
  CHECK(declined("a: &x 1\nb: *x\n"));           // anchors and aliases
  CHECK(declined("a: !!str 1\n"));               // an explicit tag
  CHECK(declined("a: >\n  folded\n"));           // a block scalar
  CHECK(declined("a: two\n  lines\n"));          // a multi-line scalar
  CHECK(declined("a: 1\r\nb: 2\r\n"));           // other line breaks
  CHECK(declined("a: 1\n---\nb: 2\n"));          // a second document
  CHECK(declined("a: [1\n"));                    // an error: yaml-cpp words it
  // A column after a multi-byte character counts bytes, as yaml-cpp does.
  Diagnostics found;
  const NodePtr tree = parse_yaml_text_with(
      YamlParser::Libyaml, std::make_shared<const SourceText>("t.yaml", "{\xC3\xA9: 1, b: 2}\n"),
      found);
  REQUIRE(tree);
  CHECK(tree->entries[1].key_loc.column == 9);
}

}  // namespace
}  // namespace techdep::detail
