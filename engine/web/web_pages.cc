#include "engine/web/web_pages.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ccr {

namespace {

constexpr char kAssetPrefix[] = "/web/";

bool IsPagePath(absl::string_view path) {
  return path == "/wallboard" || path == "/desk" || absl::StartsWith(path, kAssetPrefix);
}

void AddCommonHeaders(HttpResponse& response) {
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Content-Security-Policy", std::string(kWebPagesCsp));
  // A token handed over in the URL fragment never leaves in a Referer
  // (browsers drop fragments there anyway); nor does the path.
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

std::string WebPages::PathOf(absl::string_view asset_name) {
  absl::string_view stem = asset_name;
  if (absl::ConsumeSuffix(&stem, ".html")) return absl::StrCat("/", stem);
  return absl::StrCat(kAssetPrefix, asset_name);
}

absl::string_view WebPages::ContentTypeOf(absl::string_view asset_name) {
  static constexpr std::pair<absl::string_view, absl::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json; charset=utf-8"}};
  for (const auto& [extension, type] : kTypes) {
    if (absl::EndsWith(asset_name, extension)) return type;
  }
  return "application/octet-stream";
}

WebPages::WebPages(absl::Span<const WebAsset> assets) {
  for (const WebAsset& asset : assets) {
    by_path_[PathOf(asset.name)] = Page{ContentTypeOf(asset.name), asset.content};
  }
}

bool WebPages::Handle(const HttpRequest& request, const HttpRespond& respond) const {
  if (!IsPagePath(request.path)) return false;
  HttpResponse response;
  if (request.method != "GET" && request.method != "HEAD") {
    response.status = 405;
    response.body = absl::StrCat("use GET or HEAD for ", request.path.substr(0, 128), "\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
  } else if (auto it = by_path_.find(request.path); it == by_path_.end()) {
    response.status = 404;
    response.body = "no such page or asset; the pages are /wallboard and /desk\n";
  } else {
    response.content_type = std::string(it->second.content_type);
    response.body = std::string(it->second.content);
  }
  AddCommonHeaders(response);
  respond(std::move(response));
  return true;
}

}  // namespace ccr
