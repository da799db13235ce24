#include <fmt/format.h>

#include "report/web_assets.hpp"
#include "techdep/core/error.hpp"

namespace techdep {

std::string assemble_page(std::string_view template_name, std::string_view data_json) {
  const std::optional<std::string_view> page = web_asset(template_name);
  if (!page) throw std::logic_error(fmt::format("no embedded page template '{}'", template_name));
  constexpr std::string_view kAssetMarker = "<!--ASSET:";
  constexpr std::string_view kDataMarker = "<!--DATA-->";
  std::string html;
  html.reserve(page->size() + data_json.size() + 64 * 1024);
  std::size_t at = 0;
  while (at < page->size()) {
    const std::size_t asset = page->find(kAssetMarker, at);
    const std::size_t data = page->find(kDataMarker, at);
    const std::size_t next = std::min(asset, data);
    html.append(page->substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    if (next == data) {
      html.append(data_json);
      at = data + kDataMarker.size();
      continue;
    }
    const std::size_t name_start = asset + kAssetMarker.size();
    const std::size_t name_end = page->find("-->", name_start);
    const std::string_view name = page->substr(name_start, name_end - name_start);
    const std::optional<std::string_view> bytes = web_asset(name);
    if (!bytes) throw std::logic_error(fmt::format("{}: no embedded asset '{}'", template_name, name));
    html.append(*bytes);
    at = name_end + 3;
  }
  return html;
}

std::string json_for_script(std::string json) {
  // Inside <script> the HTML parser ends the element at "</script"; JSON may write '<' as \u003c
  // anywhere it appears (only inside strings), so the data can never close the element.
  std::string safe;
  safe.reserve(json.size());
  for (const char c : json) {
    if (c == '<') {
      safe += "\\u003c";
    } else {
      safe += c;
    }
  }
  return safe;
}

}  // namespace techdep
