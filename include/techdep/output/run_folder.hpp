#pragma once
// A run folder that appears complete or not at all: files are written into a hidden staging
// folder beside the final one, each file through a temporary name, and the folder is renamed
// into place at the end. An existing folder is never overwritten.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "techdep/output/digest.hpp"

namespace techdep {

/// Writes `content` to `path` through a temporary file in the same folder, flushed to disk and
/// renamed over the final name, so a reader never sees a half-written file. Throws IoError.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

/// A buffered output file with a temporary name until `commit()`. Throws IoError on any failed
/// write (a full disk included), naming the file.
class StagedFile {
 public:
  /// `with_sha256`: hash the bytes as they are written (sha256_hex() after commit), so a large
  /// file's manifest entry does not read it back.
  explicit StagedFile(std::filesystem::path final_path, bool with_sha256 = false);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  void write(std::string_view bytes);
  /// Flushes, syncs and renames the file to its final name (and syncs its folder, unless the
  /// folder is a RunFolder's staging folder, which RunFolder::commit syncs once for all files).
  void commit();
  const std::filesystem::path& final_path() const { return final_path_; }
  /// The committed contents' SHA-256 (lower-case hex); empty unless made `with_sha256`.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  std::filesystem::path final_path_;
  std::unique_ptr<Sha256Stream> digest_;
  std::string sha256_hex_;
  std::filesystem::path temp_path_;
  std::FILE* file_ = nullptr;
  bool in_run_folder_ = false;  ///< in a RunFolder's staging folder: its commit syncs the names
};

class RunFolder {
 public:
  /// Reserves `final_dir`: throws IoError if it exists already. Creates the staging folder, after
  /// removing staging folders beside it whose process no longer exists (runs killed by SIGKILL).
  /// `another_name_on_clash`: the name was chosen by techdep (default_run_dir), not the user, so
  /// if another process takes it while this one works, commit() takes `<name>-2`, `-3`, ...
  /// instead of failing after the work is done (concurrent runs started in the same second).
  explicit RunFolder(std::filesystem::path final_dir, bool another_name_on_clash = false);
  ~RunFolder();  ///< removes the staging folder unless committed
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  /// Where files go before `commit()`.
  const std::filesystem::path& staging_dir() const { return staging_dir_; }
  const std::filesystem::path& final_dir() const { return final_dir_; }
  std::filesystem::path staged(std::string_view name) const { return staging_dir_ / name; }
  /// Renames the staging folder to the final name. Throws IoError if the name was taken meanwhile
  /// (unless another name may be taken: then final_dir() is the name it got).
  void commit();

 private:
  std::filesystem::path final_dir_;
  std::filesystem::path staging_dir_;
  bool another_name_on_clash_ = false;
  bool committed_ = false;
};

/// A fresh default run folder name under `parent`: `<UTC time>_<scenario name>`, with a numeric
/// suffix when that name is taken.
std::filesystem::path default_run_dir(const std::filesystem::path& parent, std::string_view name);

}  // namespace techdep
