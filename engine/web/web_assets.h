// The files of engine/web/assets/ (the wallboard and the reference desktop),
// embedded in the binary at build time by engine/web/embed_assets.cmake: the
// engine serves its pages from memory and reads no file at run time.
//
//   for (const WebAsset& a : EmbeddedWebAssets()) Serve(a.name, a.content);
#ifndef CCROUTER_ENGINE_WEB_WEB_ASSETS_H_
#define CCROUTER_ENGINE_WEB_WEB_ASSETS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ccr {

struct WebAsset {
  absl::string_view name;     // the file's name in engine/web/assets/, e.g. "wallboard.html"
  absl::string_view content;  // its bytes
};

// Every embedded asset, in the order of the build's list. Constant; lives as
// long as the program.
absl::Span<const WebAsset> EmbeddedWebAssets();

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_WEB_ASSETS_H_
