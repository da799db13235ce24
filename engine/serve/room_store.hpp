#pragma once
// Where game rooms persist: one SQLite file the teacher names (`serve --rooms FILE`). The only
// file that includes sqlite3.h is engine/serve/room_store.cpp.

#include <memory>
#include <string>
#include <vector>

namespace techdep {

class RoomStore {
 public:
  /// Opens (creating when missing) the database; throws IoError naming the file on failure.
  explicit RoomStore(const std::string& file);
  ~RoomStore();
  RoomStore(const RoomStore&) = delete;
  RoomStore& operator=(const RoomStore&) = delete;

  struct Row {
    std::string code;
    std::string document;  ///< the room as JSON (settings, players, moves)
    long long touched = 0;  ///< seconds since the epoch
  };
  /// Writes a room in one transaction (replacing its previous state). Throws IoError.
  void save(const Row& row);
  void remove(const std::string& code);
  std::vector<Row> load_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace techdep
