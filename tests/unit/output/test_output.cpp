#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "integration/cli_runner.hpp"
#include "techdep/core/error.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::TempDir;

TEST_CASE("CSV fields are quoted per RFC 4180 only when needed", "[output]") {
  std::string out;
  techdep::append_csv_field(out, "plain");
  out += '|';
  techdep::append_csv_field(out, "a,b");
  out += '|';
  techdep::append_csv_field(out, "say \"hi\"");
  out += '|';
  techdep::append_csv_field(out, "two\nlines");
  CHECK(out == "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
}

TEST_CASE("CSV numbers use the shortest round-trip form and NaN is empty", "[output]") {
  std::string out;
  for (const double value : {0.1, 1.0 / 3.0, 1e-20, 760000.0, std::nan("")}) {
    techdep::append_csv_number(out, value);
    out += ',';
  }
  CHECK(out == "0.1,0.3333333333333333,1e-20,760000,,");
  CHECK(std::stod("0.3333333333333333") == 1.0 / 3.0);
}

TEST_CASE("A staged file is invisible under its final name until committed", "[output]") {
  const TempDir dir;
  const fs::path target = dir.path() / "data.csv";
  {
    techdep::StagedFile file(target);
    file.write("a,b\n");
    CHECK_FALSE(fs::exists(target));
  }
  // Abandoned without commit: neither the final name nor a temporary file remains.
  CHECK(fs::is_empty(dir.path()));

  techdep::StagedFile file(target);
  file.write("a,b\n1,2\n");
  file.commit();
  CHECK(read_text(target) == "a,b\n1,2\n");
}

TEST_CASE("A run folder refuses an existing name and cleans up when abandoned", "[output]") {
  const TempDir dir;
  const fs::path taken = dir.path() / "taken";
  fs::create_directory(taken);
  CHECK_THROWS_AS(techdep::RunFolder(taken), techdep::IoError);

  const fs::path target = dir.path() / "run";
  {
    techdep::RunFolder folder(target);
    techdep::write_file_atomically(folder.staged("x.txt"), "x");
    CHECK_FALSE(fs::exists(target));
  }
  CHECK_FALSE(fs::exists(target));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);

  techdep::RunFolder folder(target);
  techdep::write_file_atomically(folder.staged("x.txt"), "x");
  // A folder that appears under the final name meanwhile is not replaced.
  fs::create_directory(target);
  CHECK_THROWS_AS(folder.commit(), techdep::IoError);
  CHECK(fs::is_empty(target));
}

TEST_CASE("A default-named run folder taken meanwhile moves to the next free name", "[output]") {
  // Two runs of one scenario started in the same second get the same default name; the one that
  // finishes second must not fail after all its work ("File exists").
  const TempDir dir;
  const fs::path name = dir.path() / "2026-01-01T00-00-00Z_tiny";
  {
    techdep::RunFolder first(name, true);
    techdep::RunFolder second(name, true);
    techdep::write_file_atomically(first.staged("a.txt"), "first\n");
    techdep::write_file_atomically(second.staged("a.txt"), "second\n");
    first.commit();
    second.commit();
    CHECK(first.final_dir() == name);
    CHECK(second.final_dir() == fs::path(name.string() + "-2"));
  }
  CHECK(read_text(name / "a.txt") == "first\n");
  CHECK(read_text(fs::path(name.string() + "-2") / "a.txt") == "second\n");
  // A name the user chose is never changed: the clash is an error.
  const fs::path chosen = dir.path() / "chosen";
  techdep::RunFolder one(chosen);
  techdep::RunFolder two(chosen);
  one.commit();
  CHECK_THROWS_AS(two.commit(), techdep::IoError);
}

TEST_CASE("SHA-256 matches the published test vector", "[output]") {
  CHECK(techdep::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const TempDir dir;
  techdep::write_file_atomically(dir.path() / "abc", "abc");
  CHECK(techdep::sha256_file_hex(dir.path() / "abc") == techdep::sha256_hex("abc"));
}
