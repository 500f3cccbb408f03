// ConfigLoader: YAML text -> ccrouter.v1.Config -> ccr::RouterConfig.
//
// The YAML is converted to JSON and parsed with JsonStringToMessage, so the
// proto is the schema and an unknown or mistyped key is an error naming it.
#ifndef CCROUTER_CODEC_CONFIG_LOADER_H_
#define CCROUTER_CODEC_CONFIG_LOADER_H_

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ccrouter/v1/config.pb.h"
#include "codec/read_file.h"
#include "router/types.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

// The embedded default config (deploy/config/default.yaml, compiled in).
absl::string_view DefaultConfigYaml();

// Bounds on a config's YAML, so hostile input (Admin.ReloadConfig, a file
// left for SIGHUP) costs bounded time and memory. YAML aliases (`*name`)
// repeat an anchored node without copying it, so a few hundred bytes of
// nested aliases can stand for billions of nodes; the loader counts every
// node it visits, aliases expanded, and refuses past the budget.
inline constexpr size_t kMaxConfigYamlBytes = 1024 * 1024;      // the text
inline constexpr size_t kMaxConfigNodes = 200000;               // nodes, aliases expanded
inline constexpr size_t kMaxConfigJsonBytes = 8 * 1024 * 1024;  // the document, expanded
inline constexpr int kMaxConfigDepth = 64;                      // nesting (also: cyclic aliases)

// Converts YAML text to the JSON form of the same document. Quoted scalars
// stay strings; plain scalars that read as numbers or booleans become JSON
// numbers or booleans; short enum values (`voice`) get their proto prefix.
absl::StatusOr<std::string> YamlToJson(absl::string_view yaml);

absl::StatusOr<v1::Config> ParseConfigYaml(absl::string_view yaml);

// Reads YAML into any message the way the config is read (YamlToJson, then
// protobuf's JSON parser, which refuses unknown keys and mistyped values),
// for every YAML file the project reads (ccsim's scenarios too). Errors
// start with `what` (`scenario: (streams[0]) patiense: Cannot find field.`).
absl::Status ParseYamlMessage(absl::string_view yaml, absl::string_view what,
                              google::protobuf::Message* out);

// For the checks a proto cannot express, errors worded as the config's are:
// `<what>.<path>: <problem>`, e.g. `mix.queues[1].share: expected a number
// in [0, inf], got -1`.
absl::Status FieldError(absl::string_view what, absl::string_view path, absl::string_view problem);
// OK when `value` is finite and within [min_value, max_value].
absl::Status FieldInRange(absl::string_view what, absl::string_view path, double value,
                          double min_value, double max_value);

// Maps the wire config onto the router's, filling defaults for zero values.
// The router validates the result (Router::Create / Reconfigure).
RouterConfig ToRouterConfig(const v1::Config& config);

// Both steps, plus a trial Router::Create so errors surface before use.
absl::StatusOr<RouterConfig> LoadRouterConfig(absl::string_view yaml, v1::Config* wire = nullptr);
// Config keys the engine reads once, at start: the listeners' TLS, the
// strand's bound, the desktops' grace and the stream bounds. A reload that
// changes one is refused naming it (a restart applies it), never ignored.
inline constexpr absl::string_view kRestartOnlyConfigKeys[] = {
    "tls",
    "plaintext",
    "max_strand_backlog",
    "disconnect_grace_seconds",
    "heartbeat_interval_seconds",
    "heartbeat_missed_limit",
    "limits.submit_stream_messages_per_second",
    "limits.agent_stream_messages_per_second",
    "limits.max_watch_streams",
    "limits.watch_stream_queue",
    "limits.agent_stream_queue",
    "limits.event_window",
    "limits.max_contact_watch_streams",
    "http",
};
// The restart-only keys whose values differ, as "config.<key>".
std::vector<std::string> ChangedRestartOnlyKeys(const v1::Config& running, const v1::Config& next);

}  // namespace ccr

#endif  // CCROUTER_CODEC_CONFIG_LOADER_H_
