// ConfigLoader: YAML text -> ccrouter.v1.Config -> ccr::RouterConfig.
//
// The YAML is converted to JSON and parsed with JsonStringToMessage, so the
// proto is the schema and an unknown or mistyped key is an error naming it.
#ifndef CCROUTER_ENGINE_CONFIG_LOADER_H_
#define CCROUTER_ENGINE_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ccrouter/v1/config.pb.h"
#include "router/types.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// The embedded default config (deploy/config/default.yaml, compiled in).
absl::string_view DefaultConfigYaml();

// Converts YAML text to the JSON form of the same document. Quoted scalars
// stay strings; plain scalars that read as numbers or booleans become JSON
// numbers or booleans; short enum values (`voice`) get their proto prefix.
absl::StatusOr<std::string> YamlToJson(absl::string_view yaml);

absl::StatusOr<v1::Config> ParseConfigYaml(absl::string_view yaml);

// Maps the wire config onto the router's, filling defaults for zero values.
// The router validates the result (Router::Create / Reconfigure).
RouterConfig ToRouterConfig(const v1::Config& config);

// Both steps, plus a trial Router::Create so errors surface before use.
absl::StatusOr<RouterConfig> LoadRouterConfig(absl::string_view yaml, v1::Config* wire = nullptr);

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_CONFIG_LOADER_H_
