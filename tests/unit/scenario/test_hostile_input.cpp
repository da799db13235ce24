// Inputs meant to crash, hang or exhaust the loader must fail fast with a clear error.

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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

}  // namespace
}  // namespace techdep
