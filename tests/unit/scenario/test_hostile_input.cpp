// Inputs meant to crash, hang or exhaust the loader must fail fast with a clear error.

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "scenario/merge.hpp"
#include "scenario/yaml_tree.hpp"
#include "techdep/app/resources.hpp"
#include "techdep/core/terminal_text.hpp"
#include "unit/scenario/scenario_test_support.hpp"

namespace techdep {
namespace {

using test::load_errors;
using test::TempDir;

/// The one diagnostic of a hostile file, checked to arrive within a second.
Diagnostic single_error(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Diagnostic> diagnostics = load_errors(path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < std::chrono::seconds(1));
  REQUIRE(diagnostics.size() == 1);
  return diagnostics[0];
}

TEST_CASE("a 100 MB file is refused unread", "[scenario]") {
  TempDir dir("big");
  const std::string path = dir.file("big.yaml");
  {
    std::ofstream out(path, std::ios::binary);
    out << "name: x\n";
  }
  std::filesystem::resize_file(path, std::uintmax_t{100} << 20);  // sparse: cheap to make
  const Diagnostic error = single_error(path);
  CHECK(error.kind == "file-too-large");
  CHECK(test::first_line(error) ==
        path + ": error: file too large: 104857600 bytes, the limit is 64 MiB");
}

TEST_CASE("nesting 20000 deep is refused before yaml-cpp recurses", "[scenario]") {
  TempDir dir("deep");
  SECTION("flow") {
    const std::string path =
        dir.write("flow.yaml", "a: " + std::string(20000, '[') + std::string(20000, ']') + "\n");
    const Diagnostic error = single_error(path);
    CHECK(error.kind == "nesting-too-deep");
    CHECK(test::first_line(error) ==
          path + ":1:68: error: nesting too deep: more than 64 levels of [ and {");
  }
  SECTION("block indentation") {
    std::string text;
    // 1000 levels (half a megabyte) already pass the limit; 20000 would take 200 MB.
    for (int level = 0; level < 1000; ++level) {
      text += std::string(static_cast<std::size_t>(level), ' ') + "k:\n";
    }
    const std::string path = dir.write("block.yaml", text);
    const Diagnostic error = single_error(path);
    CHECK(error.kind == "nesting-too-deep");
    CHECK(test::first_line(error) ==
          path + ":514:513: error: nesting too deep: indentation beyond 512 columns");
  }
  SECTION("compact sequences") {
    std::string text;
    for (int level = 0; level < 20000; ++level) text += "- ";
    const std::string path = dir.write("seq.yaml", text + "x\n");
    CHECK(single_error(path).kind == "nesting-too-deep");
  }
}

TEST_CASE("alias bombs are stopped by counting expanded nodes", "[scenario]") {
  TempDir dir("aliases");
  // Ten levels of ten aliases each: 10^10 nodes if expanded.
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 10; ++level) {
    text += fmt::format("l{0}: &l{0} [", level);
    for (int k = 0; k < 10; ++k) text += fmt::format("{}*l{}", k == 0 ? "" : ", ", level - 1);
    text += "]\n";
  }
  const Diagnostic error = single_error(dir.write("bomb.yaml", text));
  CHECK(error.kind == "too-many-aliases");

  std::string many = "a: &a 1\nb: [";
  for (int k = 0; k < 10001; ++k) many += k == 0 ? "*a" : ", *a";
  const Diagnostic count = single_error(dir.write("many.yaml", many + "]\n"));
  CHECK(count.kind == "too-many-aliases");
  CHECK(count.message == "too many aliases: more than 10000");
}

TEST_CASE("binary, utf-16, invalid utf-8 and empty files are refused", "[scenario]") {
  TempDir dir("binary");
  SECTION("binary garbage") {
    std::string garbage = "name: x\n";
    for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
    const Diagnostic error = single_error(dir.write("garbage.yaml", garbage));
    CHECK((error.kind == "binary-content" || error.kind == "bad-encoding"));
    CHECK(error.where.line == 2);
  }
  SECTION("a NUL byte") {
    const std::string path = dir.write("nul.yaml", std::string("name: a\0b\n", 10));
    const Diagnostic error = single_error(path);
    CHECK(error.kind == "binary-content");
    CHECK(test::first_line(error) == path + ":1:8: error: file contains a NUL byte: not a text file");
  }
  SECTION("utf-16 with a byte-order mark") {
    const std::string path = dir.write("utf16.yaml", std::string("\xFF\xFEn\0a\0m\0e\0", 10));
    const Diagnostic error = single_error(path);
    CHECK(error.kind == "bad-encoding");
    CHECK(test::first_line(error) ==
          path + ":1:1: error: file is utf-16 or utf-32 encoded: save it as utf-8");
  }
  SECTION("utf-16 without a byte-order mark") {
    const Diagnostic error = single_error(dir.write("utf16le.yaml", std::string("n\0a\0m\0e\0", 8)));
    CHECK(error.kind == "bad-encoding");
  }
  SECTION("invalid utf-8") {
    const std::string path = dir.write("latin1.yaml", "name: caf\xE9\n");
    const Diagnostic error = single_error(path);
    CHECK(error.kind == "bad-encoding");
    CHECK(error.where.line == 1);
    CHECK(error.where.column == 10);
  }
  SECTION("empty and comment-only files") {
    const std::string empty = dir.write("empty.yaml", "");
    const Diagnostic error = single_error(empty);
    CHECK(error.kind == "empty-file");
    CHECK(test::first_line(error) == empty + ": error: empty document: expected a map of keys");
    CHECK(single_error(test::error_path("empty_file.yaml")).kind == "empty-file");
  }
  SECTION("utf-8 with a byte-order mark is fine") {
    const std::string text = "\xEF\xBB\xBF" + starter_scenario("minimal");
    CHECK_NOTHROW(load_scenario(dir.write("bom.yaml", text)));
  }
}


// ---- round 2 (issue 18): no input ties the engine up ------------------------------------------

/// tests/data/cli/tiny.yaml, its facts file named by absolute path so the copy loads anywhere.
std::string tiny_text() {
  const std::string folder = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/";
  std::ifstream in(folder + "tiny.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string tiny = text.str();
  tiny.replace(tiny.find("facts: facts.yaml"), 17, "facts: " + folder + "facts.yaml");
  return tiny;
}

TEST_CASE("a map of 200,000 keys parses in linear time and still finds a duplicate", "[scenario]") {
  // A linear search per key made this quadratic: 2e10 comparisons, minutes.
  std::string text = "note:\n";
  for (int key = 0; key < 200'000; ++key) text += fmt::format("  k{}: {}\n", key, key);
  text += "  k7: again\n";
  detail::Diagnostics diagnostics;
  const auto start = std::chrono::steady_clock::now();
  const detail::NodePtr root = detail::parse_yaml_text(
      std::make_shared<const detail::SourceText>("keys.yaml", text), diagnostics);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics.items()[0].kind == "duplicate-key");
  CHECK_THAT(diagnostics.items()[0].message, Catch::Contains("first given at line 9"));
  // Merging two such maps (extends) is linear too, and a null still deletes a key.
  detail::Diagnostics more;
  const detail::NodePtr over = detail::parse_yaml_text(
      std::make_shared<const detail::SourceText>("over.yaml", "k5: 1\nk6: null\nnew: 2\n"), more);
  REQUIRE(root != nullptr);
  const detail::NodePtr merged = detail::merge_nodes(root->entries[0].value, over);
  CHECK(merged->entries.size() == 200'000);
  CHECK(merged->find("k6") == nullptr);
  CHECK(merged->get("k5")->text == "1");
  CHECK(merged->entries.back().key == "new");
}

TEST_CASE("a document without aliases over the node cap is not told about aliases", "[scenario]") {
  detail::ParseLimits limits;
  limits.max_nodes = 100;
  std::string text = "note:\n";
  for (int key = 0; key < 200; ++key) text += fmt::format("  k{}: {}\n", key, key);
  detail::Diagnostics diagnostics;
  (void)detail::parse_yaml_text(std::make_shared<const detail::SourceText>("big.yaml", text),
                                diagnostics, limits);
  REQUIRE(diagnostics.size() == 1);
  CHECK_THAT(diagnostics.items()[0].message, Catch::Contains("more than 100 nodes"));
  CHECK_THAT(diagnostics.items()[0].message, !Catch::Contains("aliases"));
}

TEST_CASE("did-you-mean is bounded and names invisible characters", "[scenario]") {
  std::vector<std::string> long_ids;
  for (int id = 0; id < 1000; ++id) long_ids.push_back(std::string(1000, 'a') + std::to_string(id));
  // 1,000 ids of 1,000 characters: a long unknown word gets no suggestion, a short one is
  // compared only with candidates near its length.
  CHECK(detail::closest_match(std::string(1000, 'a'), long_ids).empty());
  CHECK(detail::closest_match("aaaa", long_ids).empty());
  CHECK(detail::closest_match("elastcity", {"elasticity", "adjustment"}) == "elasticity");
  CHECK(detail::edit_distance("stpes", "steps") == 1);
  CHECK(detail::edit_distance("kitten", "sitting") == 3);
  CHECK(detail::did_you_mean("RUS\xE2\x80\x8B", {"RUS", "EST"}) ==
        " (it contains the invisible character U+200B at character 4)");
}

TEST_CASE("control bytes in a message are printed as escapes, columns count characters",
          "[scenario]") {
  TempDir dir("control");
  const std::string path =
      dir.write("title.yaml", tiny_text() + "\x1b]0;PWNED\x07\x1b[2J: 1\n");
  const std::vector<Diagnostic> diagnostics = load_errors(path);
  REQUIRE(!diagnostics.empty());
  const std::string text = format_diagnostic(diagnostics.front());
  CHECK(std::none_of(text.begin(), text.end(), [](char ch) {
    const auto byte = static_cast<unsigned char>(ch);
    return (byte < 0x20 && ch != '\n') || byte == 0x7F;
  }));
  CHECK_THAT(text, Catch::Contains("\\x1b]0;PWNED\\x07\\x1b[2J"));
  CHECK(escape_control_bytes(std::string("a\0b\xC2\x9B", 5)) == "a\\x00b\\u009b");

  // 26 Cyrillic letters (two bytes each) before an unknown key on the same line: the key is
  // character 43 of `  EST: {name: <26 letters>, bogus: 1, ...`, at byte 69.
  std::string cyrillic;
  for (int letter = 0; letter < 26; ++letter) cyrillic += "\xD0\xB6";
  std::string text2 = tiny_text();
  text2.replace(text2.find("EST: {name: East,"), 17, "EST: {name: " + cyrillic + ", bogus: 1,");
  const std::vector<Diagnostic> unknown = load_errors(dir.write("cyrillic.yaml", text2));
  REQUIRE(unknown.size() == 1);
  CHECK(unknown.front().kind == "unknown-key");
  CHECK(unknown.front().where.column == 43);
  const std::string shown = format_diagnostic(unknown.front());
  // The caret line: 6-wide gutter, " | ", then 42 spaces and the caret.
  CHECK_THAT(shown, Catch::EndsWith("       | " + std::string(42, ' ') + "^"));
}

TEST_CASE("extends must name a scenario, and --set cannot change it", "[scenario]") {
  TempDir dir("extends");
  dir.write("list.yaml", "- a\n- b\n");
  dir.write("words.yaml", "root:x:0:0:root:/root:/bin/bash\n");
  for (const std::string base : {"list.yaml", "words.yaml"}) {
    INFO(base);
    const std::string child = dir.write("child.yaml", "extends: " + base + "\nname: c\n");
    const std::vector<Diagnostic> diagnostics = load_errors(child);
    REQUIRE(!diagnostics.empty());
    CHECK(diagnostics.front().kind == "wrong-type");
    CHECK_THAT(diagnostics.front().message, Catch::Contains("is not a scenario"));
  }
  LoadOptions options;
  options.overrides = {{"extends=world-2021.yaml"}};
  const std::vector<Diagnostic> diagnostics =
      load_errors(std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/tiny.yaml", options);
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics.front().kind == "bad-override");
  CHECK_THAT(diagnostics.front().message, Catch::Contains("extends cannot be overridden"));
}

TEST_CASE("a FIFO, a directory and a symlink loop are refused by name, without blocking",
          "[scenario]") {
  TempDir dir("special");
  const std::string fifo = dir.file("pipe.yaml");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(load_scenario(fifo), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(load_scenario(dir.dir()), Catch::Contains("is a directory"));
  const std::string loop = dir.file("loop.yaml");
  std::filesystem::create_symlink(loop, loop);
  CHECK_THROWS_AS(load_scenario(loop), IoError);
  CHECK_THROWS_WITH(load_scenario(loop), !Catch::Contains("no such file"));
  CHECK_THROWS_WITH(load_scenario(dir.file("missing.yaml")), Catch::Contains("no such file"));
}

TEST_CASE("seeds are whole numbers below 2^53", "[scenario]") {
  TempDir dir("seed");
  std::string text = tiny_text();
  text.replace(text.find("seed: 7"), 7, "seed: 9007199254740992");
  const std::vector<Diagnostic> diagnostics = load_errors(dir.write("big.yaml", text));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics.front().kind == "out-of-range");
  CHECK_THAT(diagnostics.front().message, Catch::Contains("0 to 2^53-1"));
  text.replace(text.find("seed: 9007199254740992"), 22, "seed: 9007199254740991");
  CHECK(load_scenario(dir.write("max.yaml", text)).spec.seed == 9007199254740991ULL);
}

TEST_CASE("messages say what is wrong: quoted numbers, horizon ends, CSV byte-order marks",
          "[scenario]") {
  TempDir dir("messages");
  std::string text = tiny_text();
  text.replace(text.find("elasticity: 3\n"), 14, "elasticity: \"3.0\"\n");
  std::vector<Diagnostic> diagnostics = load_errors(dir.write("quoted.yaml", text));
  REQUIRE(diagnostics.size() == 1);
  CHECK_THAT(diagnostics.front().message,
             Catch::Contains("a string because it is quoted or tagged: write the number bare"));
}

TEST_CASE("the sizes reach the loader's hook before any dense table is built", "[scenario]") {
  // 1,000 countries x 200 sectors in a few kilobytes: the hook sees the sizes and refuses.
  std::string text = "schema_version: 1\nname: huge\ntime: {start: 2021-01, step: month, steps: 2}\n"
                     "countries:\n";
  for (int country = 0; country < 1000; ++country) {
    text += fmt::format("  C{}: {{talent: 1, source: assumption}}\n", country);
  }
  text += "sectors:\n";
  for (int sector = 0; sector < 200; ++sector) {
    text += fmt::format("  s{}: {{elasticity: 2, source: assumption}}\n", sector);
  }
  TempDir dir("huge");
  const std::string path = dir.write("huge.yaml", text);
  LoadOptions options;
  std::uint64_t seen_countries = 0;
  std::uint64_t seen_sectors = 0;
  options.before_build = [&](std::uint64_t countries, std::uint64_t sectors) {
    seen_countries = countries;
    seen_sectors = sectors;
    check_memory_before_loading(path, countries, sectors, std::uint64_t{1} << 30);
  };
  CHECK_THROWS_WITH(load_scenario(path, options), Catch::Contains("not enough memory"));
  CHECK(seen_countries == 1000);
  CHECK(seen_sectors == 200);
  CHECK_NOTHROW(check_memory_before_loading(path, 20, 5, std::uint64_t{1} << 30));
}

}  // namespace
}  // namespace techdep
