#include "scenario/yaml_tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <yaml.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

namespace techdep::detail {

SourceText::SourceText(std::string source_name, std::string source_text)
    : name(std::move(source_name)), text(std::move(source_text)) {
  line_starts.push_back(0);
  // memchr finds each newline far faster than a byte loop: tables run to 400,000 lines.
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  for (const char* at = begin; at != end;) {
    const auto* newline = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)));
    if (newline == nullptr) break;
    line_starts.push_back(static_cast<std::size_t>(newline - begin) + 1);
    at = newline + 1;
  }
}

std::string SourceText::line(int one_based) const {
  if (one_based < 1 || static_cast<std::size_t>(one_based) > line_starts.size()) return {};
  const std::size_t begin = line_starts[static_cast<std::size_t>(one_based - 1)];
  std::size_t end = text.find('\n', begin);
  if (end == std::string::npos) end = text.size();
  if (end > begin && text[end - 1] == '\r') --end;
  return text.substr(begin, end - begin);
}

const MapEntry* Node::find(std::string_view key) const {
  for (const MapEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

MapEntry* Node::find(std::string_view key) {
  for (MapEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

const Node* Node::get(std::string_view key) const {
  const MapEntry* entry = find(key);
  return entry != nullptr ? entry->value.get() : nullptr;
}

std::string Node::describe() const {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Map:
      return "a map";
    case Kind::Seq:
      return "a list";
    case Kind::Scalar:
      break;
  }
  constexpr std::size_t kShown = 40;
  if (text.size() > kShown) return fmt::format("'{}...'", text.substr(0, kShown));
  return fmt::format("'{}'", text);
}

int character_column(std::string_view line, int byte_column) {
  // Locations are kept in bytes (yaml-cpp's unit); people count characters: a line of Cyrillic
  // would otherwise point at column 81 for its 54th letter.
  if (byte_column <= 1) return byte_column;
  const std::size_t bytes = std::min(line.size(), static_cast<std::size_t>(byte_column - 1));
  const auto continuation = std::count_if(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(bytes),
                                          [](char ch) {
                                            return (static_cast<unsigned char>(ch) & 0xC0) == 0x80;
                                          });
  return byte_column - static_cast<int>(continuation);
}

void Diagnostics::add(std::string kind, const Loc& where, std::string key_path,
                      std::string message) {
  Diagnostic diagnostic;
  if (where.source) {
    diagnostic.source_line = where.source->line(where.line);
    diagnostic.where = SourceLocation{where.source->name, where.line,
                                      character_column(diagnostic.source_line, where.column)};
  }
  diagnostic.key_path = std::move(key_path);
  diagnostic.kind = std::move(kind);
  diagnostic.message = std::move(message);
  items_.push_back(std::move(diagnostic));
}

void Diagnostics::add_file(std::string kind, std::string file, std::string message) {
  Diagnostic diagnostic;
  diagnostic.where.file = std::move(file);
  diagnostic.kind = std::move(kind);
  diagnostic.message = std::move(message);
  items_.push_back(std::move(diagnostic));
}

namespace {

Loc make_loc(const std::shared_ptr<const SourceText>& source, int line, int column) {
  return Loc{source, line, column};
}

/// Checks the raw bytes before yaml-cpp sees them: yaml-cpp recurses once per nesting level and
/// expands nothing itself, so depth, aliases and encoding must be bounded here.
class PreScanner {
 public:
  PreScanner(const std::shared_ptr<const SourceText>& source, std::size_t offset,
             const ParseLimits& limits, Diagnostics& diagnostics)
      : source_(source), offset_(offset), limits_(limits), diagnostics_(diagnostics) {}

  bool run() {
    const std::string& text = source_->text;
    if (text.size() >= 2 && ((text[0] == '\xFF' && text[1] == '\xFE') ||
                             (text[0] == '\xFE' && text[1] == '\xFF'))) {
      fail("bad-encoding", 1, 1, "file is utf-16 or utf-32 encoded: save it as utf-8");
      return false;
    }
    int line = 1;
    int column = 1;
    int flow_depth = 0;
    int aliases = 0;
    bool line_start = true;
    int indent = 0;
    char quote = 0;
    bool comment = false;
    char previous = ' ';
    for (std::size_t i = offset_; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte == 0) {
        fail(nul_kind(text), line, column,
             nul_kind(text) == "bad-encoding"
                 ? "file looks utf-16 encoded (NUL bytes): save it as utf-8"
                 : "file contains a NUL byte: not a text file");
        return false;
      }
      if (byte >= 0x80) {
        const int length = utf8_length(text, i);
        if (length == 0) {
          fail("bad-encoding", line, column, "invalid utf-8 byte sequence: save the file as utf-8");
          return false;
        }
        i += static_cast<std::size_t>(length - 1);
        ++column;
        line_start = false;
        previous = 'x';
        continue;
      }
      if (byte < 0x20 && byte != '\n' && byte != '\r' && byte != '\t') {
        fail("binary-content", line, column,
             fmt::format("file contains control character 0x{:02x}: not a text file", byte));
        return false;
      }
      const char ch = static_cast<char>(byte);
      if (ch == '\n') {
        ++line;
        column = 1;
        line_start = true;
        indent = 0;
        comment = false;
        if (flow_depth == 0) quote = 0;  // a stray apostrophe must not hide the rest of the file
        previous = ' ';
        continue;
      }
      if (line_start) {
        // Block nesting shows as indentation, including compact "- - -" sequences.
        if (ch == ' ' || ((ch == '-' || ch == '?') && next_is_blank(text, i))) {
          ++indent;
          if (indent > limits_.max_indent && flow_depth == 0) {
            fail("nesting-too-deep", line, column,
                 fmt::format("nesting too deep: indentation beyond {} columns",
                             limits_.max_indent));
            return false;
          }
          ++column;
          previous = ch;
          continue;
        }
        line_start = false;
      }
      if (!comment) {
        if (quote != 0) {
          if (ch == quote) quote = 0;
        } else if (ch == '#' && (previous == ' ' || previous == '\t')) {
          comment = true;
        } else if ((ch == '"' || ch == '\'') && starts_token(previous)) {
          quote = ch;
        } else if (ch == '[' || ch == '{') {
          if (++flow_depth > limits_.max_flow_depth) {
            fail("nesting-too-deep", line, column,
                 fmt::format("nesting too deep: more than {} levels of [ and {{",
                             limits_.max_flow_depth));
            return false;
          }
        } else if ((ch == ']' || ch == '}') && flow_depth > 0) {
          --flow_depth;
        } else if (ch == '*' && starts_token(previous)) {
          if (++aliases > limits_.max_aliases) {
            fail("too-many-aliases",
                 line, column, fmt::format("too many aliases: more than {}", limits_.max_aliases));
            return false;
          }
        }
      }
      previous = ch;
      ++column;
    }
    return true;
  }

 private:
  static bool starts_token(char previous) {
    return previous == ' ' || previous == '\t' || previous == '[' || previous == '{' ||
           previous == ',' || previous == ':' || previous == '-';
  }

  static bool next_is_blank(const std::string& text, std::size_t i) {
    return i + 1 >= text.size() || text[i + 1] == ' ' || text[i + 1] == '\n';
  }

  static std::string nul_kind(const std::string& text) {
    const auto nuls = std::count(text.begin(), text.end(), '\0');
    return static_cast<std::size_t>(nuls) * 4 >= text.size() ? "bad-encoding" : "binary-content";
  }

  /// Length of the valid utf-8 sequence at `i`, or 0.
  static int utf8_length(const std::string& text, std::size_t i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
    } else {
      return 0;
    }
    if (i + static_cast<std::size_t>(length) > text.size()) return 0;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0) != 0x80) return 0;
    }
    return length;
  }

  void fail(const std::string& kind, int line, int column, const std::string& message) {
    diagnostics_.add(kind, make_loc(source_, line, column + static_cast<int>(offset_)), "",
                     message);
  }

  std::shared_ptr<const SourceText> source_;
  std::size_t offset_;
  const ParseLimits& limits_;
  Diagnostics& diagnostics_;
};

/// Thrown inside the builder to stop yaml-cpp when a limit is hit; never escapes this file.
struct BuildAborted {};

/// Builds the located tree from yaml-cpp's parse events. Working from events (not YAML::Node)
/// keeps duplicate keys visible and lets aliases share one node instead of being copied.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(std::shared_ptr<const SourceText> source, int column_offset,
              const ParseLimits& limits, Diagnostics& diagnostics)
      : source_(std::move(source)),
        column_offset_(column_offset),
        limits_(limits),
        diagnostics_(diagnostics) {}

  NodePtr root() const { return root_; }

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<Node>();
    node->loc = loc(mark);
    complete(node, anchor, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      diagnostics_.add("yaml-syntax", loc(mark), path(), "alias: refers to an unknown anchor");
      throw BuildAborted{};
    }
    complete(found->second.first, 0, found->second.second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<Node>();
    node->loc = loc(mark);
    // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
    node->quoted = tag != "?";
    if (!node->quoted && (value.empty() || YAML::IsNullString(value))) {
      node->kind = Node::Kind::Null;
    } else {
      node->kind = Node::Kind::Scalar;
      node->text = value;
    }
    complete(node, anchor, 1);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(mark, Node::Kind::Seq, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, Node::Kind::Map, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    NodePtr node;
    YAML::anchor_t anchor = 0;
    std::size_t size = 1;
    bool have_key = false;
    std::string key;
    Loc key_loc;
    bool skip_value = false;  // duplicate key: keep the first value
    // Map keys seen so far, to their entry: a linear search per key made a map of n keys cost
    // n^2 / 2 comparisons (100,000 countries: 11 s before the limit could refuse them).
    std::unordered_map<std::string, std::size_t> key_index;
  };

  Loc loc(const YAML::Mark& mark) const {
    return make_loc(source_, mark.line + 1, mark.column + 1 + (mark.line == 0 ? column_offset_ : 0));
  }

  std::string path() const {
    std::string text;
    for (const Frame& frame : stack_) {
      if (frame.node->is_seq()) {
        text += fmt::format("[{}]", frame.node->items.size());
      } else if (frame.have_key) {
        if (!text.empty()) text += '.';
        text += frame.key;
      }
    }
    return text;
  }

  void open(const YAML::Mark& mark, Node::Kind kind, YAML::anchor_t anchor) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->loc = loc(mark);
    stack_.push_back(Frame{node, anchor, 1, false, {}, {}, false, {}});
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    complete(frame.node, frame.anchor, frame.size);
  }

  void complete(const NodePtr& node, YAML::anchor_t anchor, std::size_t size) {
    if (size > limits_.max_nodes) {
      diagnostics_.add("too-many-aliases", node->loc, path(), too_many_nodes());
      throw BuildAborted{};
    }
    if (anchor != 0) anchors_[anchor] = {node, size};
    if (stack_.empty()) {
      root_ = node;
      return;
    }
    Frame& parent = stack_.back();
    parent.size += size;
    if (parent.size > limits_.max_nodes) {
      diagnostics_.add("too-many-aliases", node->loc, path(), too_many_nodes());
      throw BuildAborted{};
    }
    if (parent.node->is_seq()) {
      parent.node->items.push_back(node);
      return;
    }
    if (!parent.have_key) {
      add_key(parent, *node);
      return;
    }
    if (!parent.skip_value) {
      parent.key_index.emplace(parent.key, parent.node->entries.size());
      parent.node->entries.push_back(MapEntry{parent.key, parent.key_loc, node});
    }
    parent.have_key = false;
    parent.skip_value = false;
  }

  // The cap counts nodes as if every alias were copied; a document without aliases reaches it
  // by sheer size, and must not be told about aliases it does not have.
  std::string too_many_nodes() const {
    return anchors_.empty()
               ? fmt::format("the document has more than {} nodes (keys, values and list items), "
                             "the limit (docs/reliability.md)",
                             limits_.max_nodes)
               : fmt::format("aliases: expand to more than {} nodes", limits_.max_nodes);
  }

  void add_key(Frame& parent, const Node& key) {
    const std::string where = path();
    parent.have_key = true;
    parent.key_loc = key.loc;
    parent.key = key.is_scalar() ? key.text : std::string{};
    if (!key.is_scalar() && !key.is_null()) {
      diagnostics_.add("wrong-type", key.loc, where,
                       fmt::format("map key: expected a name, got {}", key.describe()));
      parent.skip_value = true;
      return;
    }
    if (const auto first = parent.key_index.find(parent.key); first != parent.key_index.end()) {
      diagnostics_.add("duplicate-key", key.loc, join_key(where, parent.key),
                       fmt::format("duplicate key '{}' in {} (first given at line {})", parent.key,
                                   where_text(where),
                                   parent.node->entries[first->second].key_loc.line));
      parent.skip_value = true;
    }
  }

  static std::string join_key(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::string where_text(const std::string& path) {
    return path.empty() ? std::string{"the top level"} : path;
  }

  std::shared_ptr<const SourceText> source_;
  int column_offset_;
  const ParseLimits& limits_;
  Diagnostics& diagnostics_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, std::pair<NodePtr, std::size_t>> anchors_;
  NodePtr root_;
};


}  // namespace

namespace {

/// Frees a libyaml event however its handling ends.
struct EventGuard {
  yaml_event_t event{};
  EventGuard() = default;
  EventGuard(const EventGuard&) = delete;
  EventGuard& operator=(const EventGuard&) = delete;
  ~EventGuard() { yaml_event_delete(&event); }
};

struct ParserGuard {
  yaml_parser_t parser{};
  ParserGuard() { yaml_parser_initialize(&parser); }
  ParserGuard(const ParserGuard&) = delete;
  ParserGuard& operator=(const ParserGuard&) = delete;
  ~ParserGuard() { yaml_parser_delete(&parser); }
};

/// Bytes that libyaml reads as line breaks and yaml-cpp does not, or may count differently.
bool has_other_line_breaks(std::string_view text) {
  return text.find('\r') != std::string_view::npos ||
         text.find("\xC2\x85") != std::string_view::npos ||
         text.find("\xE2\x80\xA8") != std::string_view::npos ||
         text.find("\xE2\x80\xA9") != std::string_view::npos;
}

/// Feeds `builder` the events libyaml reads from `text` (the source's text from `start` on).
/// libyaml parses several times faster than yaml-cpp (1.5 ms against 9 ms for the 215 facts of
/// seeds/facts.yaml), but the two must build the same tree with the same locations, and error
/// messages are yaml-cpp's. So this declines (false) anything outside what both read the same
/// way: an error, a second document, directives, anchors, aliases, explicit tags, a block or
/// multi-line scalar, an empty value (yaml-cpp locates it at the next token), other line breaks.
/// Then yaml-cpp parses the text from the start. Throws BuildAborted like the builder.
bool read_with_libyaml(const SourceText& source, std::size_t start, TreeBuilder& builder) {
  const std::string_view text = std::string_view(source.text).substr(start);
  if (has_other_line_breaks(text)) return false;
  ParserGuard guard;
  yaml_parser_set_input_string(&guard.parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  // libyaml counts columns in characters, yaml-cpp in bytes.
  const auto mark_of = [&](const yaml_mark_t& mark) {
    YAML::Mark out;
    out.line = static_cast<int>(mark.line);
    const std::size_t line_start =
        mark.line == 0 ? start : source.line_starts[static_cast<std::size_t>(mark.line)];
    std::size_t byte = line_start;
    for (std::size_t chars = 0; chars < mark.column && byte < source.text.size(); ++chars) {
      ++byte;
      while (byte < source.text.size() &&
             (static_cast<unsigned char>(source.text[byte]) & 0xC0) == 0x80) {
        ++byte;
      }
    }
    out.column = static_cast<int>(byte - line_start);
    return out;
  };
  int documents = 0;
  while (true) {
    EventGuard event;
    if (yaml_parser_parse(&guard.parser, &event.event) == 0) return false;
    const yaml_event_t& e = event.event;
    switch (e.type) {
      case YAML_STREAM_START_EVENT:
      case YAML_DOCUMENT_END_EVENT:
      case YAML_NO_EVENT:
        break;
      case YAML_STREAM_END_EVENT:
        return documents == 1 && builder.root() != nullptr;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1 || e.data.document_start.version_directive != nullptr ||
            e.data.document_start.tag_directives.start != e.data.document_start.tag_directives.end) {
          return false;
        }
        break;
      case YAML_ALIAS_EVENT:
        return false;
      case YAML_SCALAR_EVENT: {
        const auto& scalar = e.data.scalar;
        const bool plain = scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (scalar.anchor != nullptr || scalar.tag != nullptr ||
            scalar.style == YAML_LITERAL_SCALAR_STYLE || scalar.style == YAML_FOLDED_SCALAR_STYLE ||
            e.start_mark.line != e.end_mark.line || (plain && scalar.length == 0)) {
          return false;
        }
        builder.OnScalar(mark_of(e.start_mark), plain ? "?" : "!", YAML::NullAnchor,
                         std::string(reinterpret_cast<const char*>(scalar.value), scalar.length));
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
        if (e.data.sequence_start.anchor != nullptr || e.data.sequence_start.tag != nullptr) {
          return false;
        }
        builder.OnSequenceStart(mark_of(e.start_mark), "?", YAML::NullAnchor,
                                YAML::EmitterStyle::Default);
        break;
      case YAML_SEQUENCE_END_EVENT:
        builder.OnSequenceEnd();
        break;
      case YAML_MAPPING_START_EVENT:
        if (e.data.mapping_start.anchor != nullptr || e.data.mapping_start.tag != nullptr) {
          return false;
        }
        builder.OnMapStart(mark_of(e.start_mark), "?", YAML::NullAnchor,
                           YAML::EmitterStyle::Default);
        break;
      case YAML_MAPPING_END_EVENT:
        builder.OnMapEnd();
        break;
    }
  }
}

}  // namespace

NodePtr parse_yaml_text_with(YamlParser which, const std::shared_ptr<const SourceText>& source,
                             Diagnostics& diagnostics, const ParseLimits& limits,
                             std::size_t offset) {
  if (source->text.size() > limits.max_bytes) {
    diagnostics.add_file("file-too-large", source->name,
                         fmt::format("file too large: {} bytes, the limit is {} MiB",
                                     source->text.size(), limits.max_bytes >> 20));
    return nullptr;
  }
  PreScanner scanner(source, offset, limits, diagnostics);
  if (!scanner.run()) return nullptr;

  std::size_t start = offset;
  if (source->text.compare(start, 3, "\xEF\xBB\xBF") == 0) start += 3;
  if (which != YamlParser::YamlCpp) {
    // The builder's own findings (duplicate keys) count only if libyaml reads the whole text.
    Diagnostics found;
    TreeBuilder fast(source, static_cast<int>(start), limits, found);
    try {
      if (read_with_libyaml(*source, start, fast)) {
        for (Diagnostic& diagnostic : found.take()) diagnostics.add_diagnostic(std::move(diagnostic));
        return fast.root();
      }
    } catch (const BuildAborted&) {
      // yaml-cpp below stops at the same limit and reports it
    }
    if (which == YamlParser::Libyaml) return nullptr;
  }
  std::istringstream stream(source->text.substr(start));
  TreeBuilder builder(source, static_cast<int>(start), limits, diagnostics);
  try {
    YAML::Parser parser(stream);
    if (!parser.HandleNextDocument(builder) || !builder.root()) {
      diagnostics.add_file("empty-file", source->name,
                           "empty document: expected a map of keys");
      return nullptr;
    }
    TreeBuilder second(source, static_cast<int>(start), limits, diagnostics);
    if (parser.HandleNextDocument(second)) {
      diagnostics.add("yaml-syntax", second.root() ? second.root()->loc : Loc{source, 1, 1}, "",
                      "document: a file holds one YAML document, found a second one");
      return nullptr;
    }
  } catch (const YAML::ParserException& error) {
    const Loc where = make_loc(source, error.mark.line + 1,
                               error.mark.column + 1 + (error.mark.line == 0 ? static_cast<int>(start) : 0));
    diagnostics.add("yaml-syntax", where, "", fmt::format("yaml syntax: {}", error.msg));
    return nullptr;
  } catch (const BuildAborted&) {
    return nullptr;
  }
  return builder.root();
}

NodePtr parse_yaml_text(const std::shared_ptr<const SourceText>& source, Diagnostics& diagnostics,
                        const ParseLimits& limits, std::size_t offset) {
  return parse_yaml_text_with(YamlParser::Either, source, diagnostics, limits, offset);
}

void require_regular_file(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error) {
    // ENOENT is "no such file"; a symlink loop (ELOOP), a denied directory (EACCES) and the
    // rest say what they are instead of passing for a missing file.
    if (error == std::errc::no_such_file_or_directory) {
      throw IoError(fmt::format("{}: no such file", path));
    }
    throw IoError(fmt::format("{}: cannot read: {}", path, error.message()));
  }
  switch (status.type()) {
    case std::filesystem::file_type::regular:
      return;
    case std::filesystem::file_type::directory:
      throw IoError(fmt::format("{}: is a directory, expected a scenario file", path));
    case std::filesystem::file_type::not_found:
      throw IoError(fmt::format("{}: no such file", path));
    default:
      // A FIFO or a device would block the read forever, or never end.
      throw IoError(fmt::format("{}: not a regular file (a pipe, socket or device), expected a "
                                "scenario file",
                                path));
  }
}

NodePtr parse_yaml_file(const std::string& path, Diagnostics& diagnostics,
                        const ParseLimits& limits) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open file", path));
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (!error && size > limits.max_bytes) {
    diagnostics.add_file("file-too-large", path,
                         fmt::format("file too large: {} bytes, the limit is {} MiB", size,
                                     limits.max_bytes >> 20));
    return nullptr;
  }
  // Read in chunks up to one byte past the limit, so a file that grows while read is still
  // refused, without zero-filling a buffer of the full limit for every small file.
  std::string text;
  std::array<char, 1 << 16> chunk{};
  while (in && text.size() <= limits.max_bytes) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw IoError(fmt::format("{}: read failed", path));
  return parse_yaml_text(std::make_shared<const SourceText>(path, std::move(text)), diagnostics,
                         limits);
}

namespace {

bool is_plain_key(std::string_view key) {
  // yaml-cpp's null spellings ("~", "null", "Null", "NULL") are all at most four bytes.
  if (key.empty() || (key.size() <= 4 && YAML::IsNullString(std::string(key)))) return false;
  if (!(std::isalnum(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
  return std::all_of(key.begin(), key.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' ||
           ch == '/';
  });
}

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  for (const char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(ch));
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_scalar(std::string& out, const Node& node) {
  if (node.is_null()) {
    out += "null";
    return;
  }
  append_yaml_scalar(out, node.text, node.quoted);
}

bool is_inline(const Node& node) {
  return node.is_null() || node.is_scalar() || (node.is_map() && node.entries.empty()) ||
         (node.is_seq() && node.items.empty());
}

void append_inline(std::string& out, const Node& node) {
  if (node.is_map()) {
    out += "{}";
  } else if (node.is_seq()) {
    out += "[]";
  } else {
    append_scalar(out, node);
  }
}

void emit_block(const Node& node, int indent, bool first_line_written, std::string& out);

void emit_entry_value(const Node& value, int indent, std::string& out) {
  if (is_inline(value)) {
    out += ' ';
    append_inline(out, value);
    out += '\n';
  } else {
    out += '\n';
    emit_block(value, indent + 2, false, out);
  }
}

void emit_block(const Node& node, int indent, bool first_line_written, std::string& out) {
  const auto pad = static_cast<std::size_t>(indent);
  bool first = true;
  if (node.is_map()) {
    for (const MapEntry& entry : node.entries) {
      if (!(first && first_line_written)) out.append(pad, ' ');
      first = false;
      append_yaml_key(out, entry.key);
      out += ':';
      emit_entry_value(*entry.value, indent, out);
    }
    return;
  }
  for (const NodePtr& item : node.items) {
    if (!(first && first_line_written)) out.append(pad, ' ');
    first = false;
    out += "- ";
    if (is_inline(*item)) {
      append_inline(out, *item);
      out += '\n';
    } else {
      emit_block(*item, indent + 2, true, out);
    }
  }
}

}  // namespace

void append_yaml_key(std::string& out, std::string_view key) {
  if (is_plain_key(key)) {
    out += key;
  } else {
    append_quoted(out, key);
  }
}

void append_yaml_scalar(std::string& out, std::string_view text, bool quoted) {
  const bool safe_plain = !quoted && !text.empty() && text.front() != ' ' && text.back() != ' ' &&
                          text.find('\n') == std::string_view::npos;
  if (safe_plain) {
    out += text;
  } else {
    append_quoted(out, text);
  }
}

void emit_yaml_entry(const MapEntry& entry, int indent, std::string& out) {
  out.append(static_cast<std::size_t>(indent), ' ');
  append_yaml_key(out, entry.key);
  out += ':';
  emit_entry_value(*entry.value, indent, out);
}

std::string emit_yaml(const Node& node) {
  std::string out;
  if (is_inline(node)) {
    append_inline(out, node);
    out += '\n';
    return out;
  }
  emit_block(node, 0, false, out);
  return out;
}

NodePtr clone(const Node& node) {
  auto copy = std::make_shared<Node>();
  copy->kind = node.kind;
  copy->text = node.text;
  copy->quoted = node.quoted;
  copy->loc = node.loc;
  for (const MapEntry& entry : node.entries) {
    copy->entries.push_back(MapEntry{entry.key, entry.key_loc, clone(*entry.value)});
  }
  for (const NodePtr& item : node.items) copy->items.push_back(clone(*item));
  return copy;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: a swap of two neighbours ("stpes") costs one edit, like a typo.
  // Three rolling rows (the swap looks two rows back) instead of the whole table.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // Allow about one typo per three letters, so short ids do not match everything. A suggestion
  // costs one edit distance per candidate: words longer than any real key or id get none, and
  // candidates whose length alone puts them out of reach are skipped, so hostile files of long
  // ids cannot make each unknown reference cost seconds.
  constexpr std::size_t kLongestSuggested = 64;
  if (word.size() > kLongestSuggested) return {};
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t gap = candidate.size() > word.size() ? candidate.size() - word.size()
                                                            : word.size() - candidate.size();
    if (gap >= best_distance) continue;
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

namespace {

/// A character a copy-paste can hide in a name (zero-width space, no-break space, soft hyphen,
/// word joiner, byte-order mark): " (it contains the invisible character U+200B at character 4)"
/// for the first one, or empty. Without it `RUS` and `RUS` plus a zero-width space read alike.
std::string invisible_character_hint(std::string_view word) {
  int character = 0;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const auto byte = static_cast<unsigned char>(word[i]);
    if ((byte & 0xC0) == 0x80) continue;
    ++character;
    char32_t code = 0;
    if (byte == 0xC2 && i + 1 < word.size()) {
      code = static_cast<unsigned char>(word[i + 1]);
    } else if ((byte == 0xE2 || byte == 0xEF) && i + 2 < word.size()) {
      code = (static_cast<char32_t>(byte & 0x0F) << 12) |
             (static_cast<char32_t>(static_cast<unsigned char>(word[i + 1]) & 0x3F) << 6) |
             static_cast<char32_t>(static_cast<unsigned char>(word[i + 2]) & 0x3F);
    }
    const bool invisible = code == 0xA0 || code == 0xAD || (code >= 0x200B && code <= 0x200F) ||
                           code == 0x2060 || code == 0xFEFF;
    if (invisible) {
      return fmt::format(" (it contains the invisible character U+{:04X} at character {})",
                         static_cast<std::uint32_t>(code), character);
    }
  }
  return {};
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  if (std::string hint = invisible_character_hint(word); !hint.empty()) return hint;
  const std::string best = closest_match(word, candidates);
  return best.empty() ? std::string{} : fmt::format(" (did you mean '{}'?)", best);
}

}  // namespace techdep::detail
