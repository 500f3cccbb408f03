// WebPages: the pages a person looks at, on the engine's HTTP port, served
// from memory (the assets embedded at build time, web_assets.h) on the HTTP
// io thread without touching the routing strand:
//
//   GET /wallboard     the supervisor wallboard (wallboard.html)
//   GET /desk          the reference agent desktop (desk.html)
//   GET /web/{file}    their scripts and styles (engine/web/assets/{file})
//
// Every answer carries Cache-Control: no-cache (a new engine's pages are
// seen at once), X-Content-Type-Options: nosniff and a Content-Security-
// Policy that lets the pages load and connect to their own origin only (the
// API's fetches, the event stream, the desktop's WebSocket): no inline
// script, no third party, no framing by another site.
#ifndef CCROUTER_ENGINE_WEB_WEB_PAGES_H_
#define CCROUTER_ENGINE_WEB_WEB_PAGES_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/http_server.h"
#include "engine/web/web_assets.h"

namespace ccr {

// The Content-Security-Policy of every page and asset.
inline constexpr absl::string_view kWebPagesCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

class WebPages {
 public:
  // `assets` (names as in engine/web/assets/) must outlive this.
  explicit WebPages(absl::Span<const WebAsset> assets = EmbeddedWebAssets());

  // Answers `request` and returns true when its path is a page's (/wallboard,
  // /desk, /web/...): the asset, 404 for an unknown one, 405 for a method
  // other than GET or HEAD. False, without answering, for any other path.
  // Never blocks; any thread.
  bool Handle(const HttpRequest& request, const HttpRespond& respond) const;

  // The URL path an asset is served at: "wallboard.html" -> "/wallboard",
  // "desk.js" -> "/web/desk.js".
  static std::string PathOf(absl::string_view asset_name);
  // Its Content-Type, from the name's extension (application/octet-stream
  // for an unknown one).
  static absl::string_view ContentTypeOf(absl::string_view asset_name);

 private:
  struct Page {
    absl::string_view content_type;
    absl::string_view content;
  };
  // Constant after construction.
  absl::flat_hash_map<std::string, Page> by_path_;
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_WEB_PAGES_H_
