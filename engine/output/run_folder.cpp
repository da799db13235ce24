#include "techdep/output/run_folder.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

// A unique suffix for temporary names; collisions only need to be unlikely, never reproducible.
std::string unique_suffix() {
  std::random_device device;
  return fmt::format("{}-{:08x}", ::getpid(), device());
}

constexpr std::string_view kStagingMarker = ".partial-";

// The name of a RunFolder's staging folder: `.<name>.partial-<pid>-<hex>`.
std::string staging_name(const fs::path& final_dir, std::string_view suffix) {
  return fmt::format(".{}{}{}", final_dir.filename().string(), kStagingMarker, suffix);
}

// True for a file in a staging folder of this process: the folder's own rename publishes it, and
// RunFolder::commit makes the folder's entries durable once (docs/reliability.md).
bool in_own_staging_dir(const fs::path& file) {
  const std::string folder = file.parent_path().filename().string();
  const std::string pid_part = fmt::format("{}{}-", kStagingMarker, ::getpid());
  return !folder.empty() && folder.front() == '.' && folder.find(pid_part) != std::string::npos;
}

// Flushes the file's data (and the size that reads it) to disk; the name is synced with its
// directory.
void sync_file(std::FILE* file, const fs::path& path) {
  if (std::fflush(file) != 0 || ::fdatasync(::fileno(file)) != 0) {
    throw IoError(fmt::format("{}: cannot write: {}", path.string(), errno_text()));
  }
}

// Makes a rename durable: the directory entry itself must reach the disk.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// A staging folder (`.<name>.partial-<pid>-<hex>`) whose process is gone was left by a run that
// was killed (SIGKILL, power loss) before it could clean up; nothing will ever finish it.
void remove_stale_staging_dirs(const fs::path& parent) {
  std::error_code error;
  for (fs::directory_iterator it(parent, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    const std::size_t marker = name.rfind(kStagingMarker);
    if (name.empty() || name.front() != '.' || marker == std::string::npos) continue;
    const std::size_t pid_start = marker + kStagingMarker.size();
    const std::size_t pid_end = name.find('-', pid_start);
    if (pid_end == std::string::npos || pid_end == pid_start) continue;
    long pid = 0;
    for (std::size_t i = pid_start; i < pid_end && pid < (1L << 40); ++i) {
      if (name[i] < '0' || name[i] > '9') {
        pid = -1;
        break;
      }
      pid = pid * 10 + (name[i] - '0');
    }
    if (pid <= 0 || pid >= (1L << 40)) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

}  // namespace

StagedFile::StagedFile(fs::path final_path, bool with_sha256)
    : final_path_(std::move(final_path)),
      digest_(with_sha256 ? std::make_unique<Sha256Stream>() : nullptr),
      in_run_folder_(in_own_staging_dir(final_path_)) {
  temp_path_ = final_path_;
  temp_path_ += fmt::format(".tmp-{}", unique_suffix());
  file_ = std::fopen(temp_path_.c_str(), "wbx");
  if (file_ == nullptr) {
    throw IoError(fmt::format("{}: cannot create: {}", final_path_.string(), errno_text()));
  }
}

StagedFile::~StagedFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }
}

void StagedFile::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw IoError(fmt::format("{}: cannot write: {}", final_path_.string(), errno_text()));
  }
  if (digest_) digest_->update(bytes);
}

void StagedFile::commit() {
  if (digest_) sha256_hex_ = digest_->hex();
  sync_file(file_, final_path_);
  const int close_status = std::fclose(file_);
  file_ = nullptr;
  if (close_status != 0) {
    throw IoError(fmt::format("{}: cannot write: {}", final_path_.string(), errno_text()));
  }
  std::error_code error;
  fs::rename(temp_path_, final_path_, error);
  if (error) {
    fs::remove(temp_path_, error);
    throw IoError(fmt::format("{}: cannot rename into place: {}", final_path_.string(),
                              error.message()));
  }
  if (!in_run_folder_) {
    sync_directory(final_path_.parent_path().empty() ? fs::path(".") : final_path_.parent_path());
  }
}

void write_file_atomically(const fs::path& path, std::string_view content) {
  StagedFile file(path);
  file.write(content);
  file.commit();
}

RunFolder::RunFolder(fs::path final_dir, bool another_name_on_clash)
    : final_dir_(std::move(final_dir)), another_name_on_clash_(another_name_on_clash) {
  std::error_code error;
  if (fs::exists(final_dir_, error)) {
    throw IoError(fmt::format("{}: output folder exists already; runs never overwrite "
                              "(choose another --out)",
                              final_dir_.string()));
  }
  const fs::path parent = final_dir_.has_parent_path() ? final_dir_.parent_path() : fs::path(".");
  fs::create_directories(parent, error);
  if (error) {
    throw IoError(fmt::format("{}: cannot create folder: {}", parent.string(), error.message()));
  }
  remove_stale_staging_dirs(parent);
  staging_dir_ = parent / staging_name(final_dir_, unique_suffix());
  if (!fs::create_directory(staging_dir_, error) || error) {
    throw IoError(fmt::format("{}: cannot create folder: {}", staging_dir_.string(),
                              error ? error.message() : std::string("exists")));
  }
}

RunFolder::~RunFolder() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove_all(staging_dir_, ignored);
  }
}

void RunFolder::commit() {
  // The staged files' data is on disk (StagedFile::commit); one sync makes all their names
  // durable before the folder can appear under its final name.
  sync_directory(staging_dir_);
  // RENAME_NOREPLACE: a plain rename(2) would silently replace an empty folder of the same name.
  const fs::path chosen = final_dir_;
  int renamed = ::renameat2(AT_FDCWD, staging_dir_.c_str(), AT_FDCWD, final_dir_.c_str(),
                            RENAME_NOREPLACE);
  for (int suffix = 2; renamed != 0 && errno == EEXIST && another_name_on_clash_ && suffix < 1000;
       ++suffix) {
    final_dir_ = fs::path(fmt::format("{}-{}", chosen.string(), suffix));
    renamed = ::renameat2(AT_FDCWD, staging_dir_.c_str(), AT_FDCWD, final_dir_.c_str(),
                          RENAME_NOREPLACE);
  }
  if (renamed != 0) {
    committed_ = true;  // keep the finished outputs where the message says they are
    throw IoError(fmt::format("{}: cannot rename the finished run into place ({}); outputs left "
                              "in {}",
                              final_dir_.string(), errno_text(), staging_dir_.string()));
  }
  committed_ = true;
  sync_directory(final_dir_.has_parent_path() ? final_dir_.parent_path() : fs::path("."));
}

fs::path default_run_dir(const fs::path& parent, std::string_view name) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  const std::string stamp =
      fmt::format("{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z_{}", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, name);
  fs::path candidate = parent / stamp;
  for (int suffix = 2; fs::exists(candidate); ++suffix) {
    candidate = parent / fmt::format("{}-{}", stamp, suffix);
  }
  return candidate;
}

}  // namespace techdep
