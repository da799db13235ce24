#pragma once
// The web files embedded into the binary at build time (tools/cmake/embed_assets.cmake): uPlot
// from engine/web/node_modules and the page templates from engine/web/. Nothing is read at run time.

#include <optional>
#include <string>
#include <string_view>

namespace techdep {

/// The bytes of an embedded file by name (`uPlot.iife.min.js`, `report.html`, ...), or nothing.
std::optional<std::string_view> web_asset(std::string_view name);

}  // namespace techdep

namespace techdep {

/// A page template (`report.html`, `serve.html`) with every `<!--ASSET:name-->` marker replaced by
/// that embedded file and `<!--DATA-->` by `data_json`.
std::string assemble_page(std::string_view template_name, std::string_view data_json);

/// JSON text made safe to place inside a <script> element.
std::string json_for_script(std::string json);

}  // namespace techdep
