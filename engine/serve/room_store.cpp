// The only file that includes sqlite3.h: game rooms, one row of JSON per room.

#include "serve/room_store.hpp"

#include <sqlite3.h>

#include <mutex>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

struct RoomStore::Impl {
  std::string file;
  sqlite3* db = nullptr;
  std::mutex mutex;  // one connection, used by every request thread in turn

  [[noreturn]] void fail(std::string_view what) const {
    throw IoError(fmt::format("{}: {} ({})", file, what, db ? sqlite3_errmsg(db) : "cannot open"));
  }

  void exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw IoError(fmt::format("{}: {}", file, text));
    }
  }
};

RoomStore::RoomStore(const std::string& file) : impl_(std::make_unique<Impl>()) {
  impl_->file = file;
  if (sqlite3_open_v2(file.c_str(), &impl_->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    impl_->fail("cannot open the rooms database");
  }
  sqlite3_busy_timeout(impl_->db, 2000);
  // WAL: a crash mid-write leaves the previous state of every room readable.
  impl_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
              "CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, document TEXT NOT NULL, "
              "touched INTEGER NOT NULL);");
}

RoomStore::~RoomStore() { sqlite3_close(impl_->db); }

void RoomStore::save(const Row& row) {
  const std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(impl_->db,
                         "INSERT INTO rooms (code, document, touched) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT(code) DO UPDATE SET document = ?2, touched = ?3",
                         -1, &statement, nullptr) != SQLITE_OK) {
    impl_->fail("cannot prepare the room update");
  }
  sqlite3_bind_text(statement, 1, row.code.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(statement, 2, row.document.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(statement, 3, row.touched);
  const int result = sqlite3_step(statement);
  sqlite3_finalize(statement);
  if (result != SQLITE_DONE) impl_->fail("cannot save a room");
}

void RoomStore::remove(const std::string& code) {
  const std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(impl_->db, "DELETE FROM rooms WHERE code = ?1", -1, &statement, nullptr) !=
      SQLITE_OK) {
    impl_->fail("cannot prepare the room removal");
  }
  sqlite3_bind_text(statement, 1, code.c_str(), -1, SQLITE_TRANSIENT);
  const int result = sqlite3_step(statement);
  sqlite3_finalize(statement);
  if (result != SQLITE_DONE) impl_->fail("cannot remove a room");
}

std::vector<RoomStore::Row> RoomStore::load_all() {
  const std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(impl_->db, "SELECT code, document, touched FROM rooms ORDER BY code", -1,
                         &statement, nullptr) != SQLITE_OK) {
    impl_->fail("cannot read the rooms");
  }
  std::vector<Row> rows;
  int result = SQLITE_ROW;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) {
    const auto text = [&](int column) {
      const unsigned char* value = sqlite3_column_text(statement, column);
      return value ? std::string(reinterpret_cast<const char*>(value)) : std::string();
    };
    rows.push_back({text(0), text(1), sqlite3_column_int64(statement, 2)});
  }
  sqlite3_finalize(statement);
  if (result != SQLITE_DONE) impl_->fail("cannot read the rooms");
  return rows;
}

}  // namespace techdep
