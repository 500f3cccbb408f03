// ccrouterd: the contact-centre routing engine daemon.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "codec/command_line.h"
#include "codec/config_loader.h"
#include "codec/owner_redirect.h"
#include "codec/wire.h"
#include "engine/auth.h"
#include "engine/cluster/cluster_node.h"
#include "engine/cluster/standby_http.h"
#include "engine/cluster/standby_responder.h"
#include "engine/engine.h"
#include "engine/grpc/services.h"
#include "engine/http_server.h"
#include "engine/journal/data_dir_lock.h"
#include "engine/journal/recovery.h"
#include "engine/log.h"
#include "engine/web/http_api.h"
#include "engine/web/http_status.h"
#include "engine/web/web_pages.h"
#include "engine/web/ws_agent_desk.h"
#include "engine/web/ws_agent_token.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "metrics/catalogue.h"
#include "metrics/grpc_metrics.h"
#include "metrics/registry.h"
#include "metrics/text_format.h"

namespace {

constexpr char kUsage[] = R"(usage: ccrouterd [flags]

The ccrouter contact-centre routing engine. Gateways submit contacts over gRPC
(ContactIngest), agent desktops hold AgentDesk streams, operators use Admin.
The first log lines name the bound addresses (event=listening). SIGTERM or
SIGINT drains and exits 0; SIGHUP reloads the config file.

flags (`--name value` or `--name=value`):
)";

}  // namespace

ABSL_FLAG(std::string, config, "",
          "FILE: YAML config (schema: proto/ccrouter/v1/config.proto). Empty: the embedded "
          "config (deploy/config/default.yaml).");
ABSL_FLAG(std::string, listen, "127.0.0.1:7700", "HOST:PORT: gRPC address (port 0 picks one).");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:7701",
          "HOST:PORT: /metrics, /healthz, /readyz (port 0 picks one).");
ABSL_FLAG(size_t, http_max_connections, 256,
          "open HTTP connections at most; one more is closed at once and counted.");
ABSL_FLAG(int, desk_queues, 4,
          "1..64: gRPC completion queues (one thread each) that AgentDesk streams spread over.");
ABSL_FLAG(std::string, data_dir, "",
          "DIR: where the journal and snapshots live (created if missing). Without it nothing "
          "survives a restart (a warning says so).");
ABSL_FLAG(ccr::OnOff, fsync, ccr::OnOff{},
          "on|off: fdatasync every journal batch. off is for tests and benchmarks only: a crash "
          "loses acknowledged work.");
ABSL_FLAG(bool, recover_skip_corrupt, false,
          "start even when the journal is damaged before its tail, skipping (and logging) the "
          "damaged records.");
ABSL_FLAG(uint64_t, snapshot_every, 200000,
          "N: snapshot after N journalled commands; also every 5 minutes when anything changed.");
ABSL_FLAG(std::string, etcd_endpoints, "",
          "HOST:PORT,...: cluster mode (CLUSTER.md): the etcd members that hold the command log "
          "and elect the owner; this node stands by until elected. Empty: one node, with "
          "--data-dir's journal.");
ABSL_FLAG(std::string, cluster_domain, "default",
          "NAME: the routing domain this node campaigns for (its keys are under "
          "/ccrouter/NAME/ in etcd).");
ABSL_FLAG(std::string, advertise, "",
          "HOST:PORT: the gRPC address clients are sent to while this node owns the domain. "
          "Empty: --listen's (which must then name a host, not 0.0.0.0 or ::).");
ABSL_FLAG(std::string, advertise_http, "",
          "HOST:PORT: the HTTP address a standby's HTTP port redirects web clients to while "
          "this node owns the domain. Empty: --http-listen's, unless that is 0.0.0.0 or :: "
          "(then standbys name only the gRPC address and redirect nothing).");
ABSL_FLAG(int, lease_ttl, 3,
          "SECONDS: the owner's etcd lease; a crashed owner is replaced within about this.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");
ABSL_FLAG(bool, check_config, false, "load and validate the config, print a summary, exit.");
ABSL_FLAG(bool, list_metrics, false,
          "print the metric catalogue (name, type, labels, help), exit.");

namespace {

// A /metrics scrape waits this long for the routing strand's figures, then
// answers 503: a busy strand costs one scrape, never a hung connection.
constexpr auto kScrapeTimeout = std::chrono::seconds(2);

// Raises the soft file-descriptor limit to the hard one: every connection,
// journal segment and snapshot needs one, and running out stops accepting.
void RaiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t was = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = was;
  }
  ccr::LogEvent(ccr::LogLevel::kInfo, "file_limit",
                {{"open_files", absl::StrCat(limit.rlim_cur)},
                 {"raised_from", absl::StrCat(was)},
                 {"hard", absl::StrCat(limit.rlim_max)}});
}

// Every method the server answers, "/package.Service/Method", so the gRPC
// metrics know them up front (and count anything else as "other").
std::vector<std::string> ServedMethods() {
  std::vector<std::string> out = {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                                  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};
  for (const char* service :
       {ccr::v1::ContactIngest::service_full_name(), ccr::v1::AgentDesk::service_full_name(),
        ccr::v1::Admin::service_full_name()}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
      out.push_back(absl::StrCat("/", d->full_name(), "/", d->method(i)->name()));
    }
  }
  return out;
}

void PrintMetricCatalogue() {
  for (const ccr::metrics::MetricDef* def : ccr::metrics::Catalogue()) {
    const char* type = def->type == prometheus::MetricType::Counter     ? "counter"
                       : def->type == prometheus::MetricType::Histogram ? "histogram"
                                                                        : "gauge";
    std::printf("%s %s [%s] %s\n", std::string(def->name).c_str(), type,
                std::string(def->labels).c_str(), std::string(def->help).c_str());
  }
}

// A start-up step that failed. InvalidArgument is a mistake on the command
// line (exit 2, with a pointer to --help); anything else exits 1.
int ExitWith(const absl::Status& status) {
  std::fprintf(stderr, "ccrouterd: %s\n", std::string(status.message()).c_str());
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    std::fputs("(see ccrouterd --help)\n", stderr);
    return 2;
  }
  return 1;
}

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }
absl::Status StartError(absl::string_view message) {
  return absl::FailedPreconditionError(message);
}

struct Flags {
  bool help = false;
  std::string config;
  std::string data_dir;
  bool check_config = false;
  bool list_metrics = false;
  bool fsync = true;
  bool recover_skip_corrupt = false;
  uint64_t snapshot_every = 0;
  size_t http_max_connections = 0;
  int desk_queues = 4;
  ccr::LogLevel log_level = ccr::LogLevel::kInfo;
  std::string grpc_host, http_host;
  int grpc_port = 0, http_port = 0;
  // Cluster mode: set when etcd_endpoints is.
  std::string etcd_endpoints, cluster_domain, advertise, advertise_http;
  int lease_ttl_seconds = 3;
  bool cluster() const { return !etcd_endpoints.empty(); }

  // Where the config came from, for messages.
  std::string config_source() const { return config.empty() ? "embedded config" : config; }
};

// Reads and checks the command line: every value a flag takes is valid after.
absl::StatusOr<Flags> ReadFlags(int argc, char** argv) {
  absl::StatusOr<ccr::CommandLine> line = ccr::ParseCommandLine(argc, argv);
  if (!line.ok()) return UsageError(line.status().message());
  if (!line->positional.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", line->positional[0], "'"));
  }
  Flags flags;
  flags.help = line->help;
  flags.config = absl::GetFlag(FLAGS_config);
  flags.data_dir = absl::GetFlag(FLAGS_data_dir);
  flags.check_config = absl::GetFlag(FLAGS_check_config);
  flags.list_metrics = absl::GetFlag(FLAGS_list_metrics);
  flags.fsync = absl::GetFlag(FLAGS_fsync).on;
  flags.recover_skip_corrupt = absl::GetFlag(FLAGS_recover_skip_corrupt);
  flags.snapshot_every = absl::GetFlag(FLAGS_snapshot_every);
  if (flags.snapshot_every == 0) {
    return UsageError("--snapshot-every needs a positive number of commands");
  }
  flags.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  if (flags.http_max_connections == 0) {
    return UsageError("--http-max-connections needs a positive number");
  }
  flags.desk_queues = absl::GetFlag(FLAGS_desk_queues);
  if (flags.desk_queues < 1 || flags.desk_queues > 64) {
    return UsageError("--desk-queues needs a number from 1 to 64");
  }
  if (!ccr::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &flags.log_level)) {
    return UsageError("--log-level: want debug, info, warn or error");
  }
  if (absl::Status s = ccr::ParseHostPort("--listen", absl::GetFlag(FLAGS_listen), &flags.grpc_host,
                                          &flags.grpc_port);
      !s.ok()) {
    return UsageError(s.message());
  }
  if (absl::Status s = ccr::ParseHostPort("--http-listen", absl::GetFlag(FLAGS_http_listen),
                                          &flags.http_host, &flags.http_port);
      !s.ok()) {
    return UsageError(s.message());
  }
  flags.etcd_endpoints = absl::GetFlag(FLAGS_etcd_endpoints);
  flags.cluster_domain = absl::GetFlag(FLAGS_cluster_domain);
  flags.advertise = absl::GetFlag(FLAGS_advertise);
  flags.advertise_http = absl::GetFlag(FLAGS_advertise_http);
  flags.lease_ttl_seconds = absl::GetFlag(FLAGS_lease_ttl);
  if (flags.cluster()) {
    if (!flags.data_dir.empty()) {
      return UsageError("--data-dir: not used with --etcd-endpoints (the log lives in etcd)");
    }
    if (flags.lease_ttl_seconds < 2 || flags.lease_ttl_seconds > 60) {
      return UsageError("--lease-ttl: want 2 to 60 seconds");
    }
    if (!flags.advertise.empty()) {
      std::string host;
      int port = 0;
      if (absl::Status s = ccr::ParseHostPort("--advertise", flags.advertise, &host, &port);
          !s.ok()) {
        return UsageError(s.message());
      }
      if (port == 0) return UsageError("--advertise: needs the port clients connect to");
    } else if (flags.grpc_host == "0.0.0.0" || flags.grpc_host == "::") {
      return UsageError(
          "--advertise: needed when --listen is 0.0.0.0 or ::, so clients are sent to an "
          "address they can reach");
    }
    if (!flags.advertise_http.empty()) {
      std::string host;
      int port = 0;
      if (absl::Status s =
              ccr::ParseHostPort("--advertise-http", flags.advertise_http, &host, &port);
          !s.ok()) {
        return UsageError(s.message());
      }
      if (port == 0) return UsageError("--advertise-http: needs the port clients connect to");
    }
  }
  return flags;
}

struct LoadedConfig {
  std::string yaml;
  ccr::v1::Config wire;
  ccr::RouterConfig router;
};

// The --config file, or the embedded config, loaded and validated.
absl::StatusOr<LoadedConfig> LoadConfig(const Flags& flags) {
  LoadedConfig loaded;
  loaded.yaml = std::string(ccr::DefaultConfigYaml());
  if (!flags.config.empty()) {
    absl::StatusOr<std::string> text = ccr::ReadFile(flags.config, ccr::kMaxConfigYamlBytes);
    if (!text.ok()) return UsageError(absl::StrCat("--config: ", text.status().message()));
    loaded.yaml = std::move(*text);
  }
  absl::StatusOr<ccr::RouterConfig> config = ccr::LoadRouterConfig(loaded.yaml, &loaded.wire);
  if (!config.ok()) {
    return StartError(absl::StrCat(flags.config_source(), ": ", config.status().message()));
  }
  loaded.router = *std::move(config);
  return loaded;
}

// Held until exit, taken before recovery reads anything: one engine per
// journal (engine/journal/data_dir_lock.h). None without --data-dir.
absl::StatusOr<std::optional<ccr::DataDirLock>> LockDataDir(const Flags& flags) {
  if (flags.data_dir.empty()) return std::nullopt;
  std::error_code ec;
  std::filesystem::create_directories(flags.data_dir, ec);
  if (ec) return UsageError(absl::StrCat("--data-dir: ", ec.message()));
  absl::StatusOr<ccr::DataDirLock> lock = ccr::DataDirLock::Acquire(flags.data_dir);
  if (!lock.ok()) return StartError(lock.status().message());
  return std::optional<ccr::DataDirLock>(*std::move(lock));
}

struct GrpcCredentials {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool tls = false;
};

// The gRPC port: TLS from the config, or plaintext only when it says so.
absl::StatusOr<GrpcCredentials> CredentialsFromConfig(const Flags& flags,
                                                      const ccr::v1::Config& wire) {
  GrpcCredentials out;
  if (!wire.tls().cert_file().empty() || !wire.tls().key_file().empty() ||
      !wire.tls().client_ca_file().empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls = ccr::TlsCredentials(wire.tls());
    if (!tls.ok()) return UsageError(tls.status().message());
    out.credentials = *std::move(tls);
    out.tls = true;
  } else if (wire.plaintext()) {
    out.credentials = grpc::InsecureServerCredentials();
  } else {
    return StartError(absl::StrCat(flags.config_source(),
                                   ": tls: set tls.cert_file and tls.key_file, or `plaintext: "
                                   "true` to serve without TLS"));
  }
  return out;
}

// The auth policy of the config, set on `auth`.
absl::Status ConfigureAuth(const Flags& flags, const ccr::v1::Config& wire,
                           ccr::Authenticator& auth) {
  const bool client_ca_set = !wire.tls().client_ca_file().empty();
  absl::StatusOr<ccr::AuthPolicy> policy = ccr::LoadAuthPolicy(wire.auth(), client_ca_set);
  if (!policy.ok()) {
    return StartError(absl::StrCat(flags.config_source(), ": ", policy.status().message()));
  }
  if (policy->open) {
    // Started open with or without `auth.open: true` (the embedded default
    // has no auth section); only a reload needs it said to open the engine.
    ccr::LogAlways("auth_open",
                   {{"declared", wire.auth().open() ? "true" : "false"},
                    {"warning",
                     "no auth.token_file or auth.certificate_roles: every caller "
                     "acts as admin; for loopback development only"}},
                   ccr::LogLevel::kWarn);
  }
  auth.SetPolicy(*std::move(policy));
  return absl::OkStatus();
}

// What signs browser desktops' tokens: the secret in http.agent_token_secret_file,
// else a random one (tokens then die with a restart; said at start).
absl::StatusOr<ccr::AgentTokenSigner> AgentTokensFromConfig(const Flags& flags,
                                                            const ccr::v1::Config& wire) {
  if (wire.http().agent_token_secret_file().empty()) {
    ccr::LogAlways("agent_token_secret",
                   {{"source", "random"},
                    {"note",
                     "no http.agent_token_secret_file: browser agent tokens are signed with a "
                     "secret made at start and die with a restart"}});
    return ccr::AgentTokenSigner::WithRandomSecret();
  }
  absl::StatusOr<ccr::AgentTokenSigner> signer = ccr::AgentTokenSigner::FromSecretFile(
      wire.http().agent_token_secret_file(), "config.http.agent_token_secret_file");
  if (!signer.ok()) {
    return StartError(absl::StrCat(flags.config_source(), ": ", signer.status().message()));
  }
  return signer;
}

// The WebSocket desktops' bounds and origins from the config's http section.
ccr::WsAgentDeskOptions WsAgentDeskOptionsFromConfig(const ccr::v1::Config& wire) {
  ccr::WsAgentDeskOptions options;
  options.allowed_origins.assign(wire.http().allowed_origins().begin(),
                                 wire.http().allowed_origins().end());
  if (wire.http().max_websocket_desktops() > 0) {
    options.max_desktops = wire.http().max_websocket_desktops();
  }
  return options;
}

// The engine's options from the config's limits (zero: the engine's default).
ccr::EngineOptions EngineOptionsFromConfig(const Flags& flags, const ccr::v1::Config& wire) {
  ccr::EngineOptions options;
  options.tls_client_ca_set = !wire.tls().client_ca_file().empty();
  if (wire.limits().submit_stream_messages_per_second() > 0) {
    options.submit_stream_messages_per_second = wire.limits().submit_stream_messages_per_second();
  }
  if (wire.limits().agent_stream_messages_per_second() > 0) {
    options.agent_stream_messages_per_second = wire.limits().agent_stream_messages_per_second();
  }
  // Stream bounds and the event window are read at start (a reload keeps them).
  if (wire.limits().max_watch_streams() > 0)
    options.max_watchers = wire.limits().max_watch_streams();
  if (wire.limits().watch_stream_queue() > 0) {
    options.watcher_outbox_limit = wire.limits().watch_stream_queue();
  }
  if (wire.limits().agent_stream_queue() > 0) {
    options.agent_outbox_limit = wire.limits().agent_stream_queue();
  }
  if (wire.limits().event_window() > 0) options.event_window = wire.limits().event_window();
  if (wire.limits().max_contact_watch_streams() > 0) {
    options.contact_watch.max_watches = wire.limits().max_contact_watch_streams();
  }
  options.config_path = flags.config;
  options.start_config = wire;
  if (wire.max_strand_backlog() > 0) options.max_backlog = wire.max_strand_backlog();
  // Desktops keep a tenth above the bound, so agents work through a submit flood.
  options.agent_backlog_reserve = std::max<size_t>(1, options.max_backlog / 10);
  if (wire.disconnect_grace_seconds() > 0) {
    options.disconnect_grace = absl::Seconds(wire.disconnect_grace_seconds());
  }
  if (wire.heartbeat_interval_seconds() > 0) {
    options.heartbeat_interval = absl::Seconds(wire.heartbeat_interval_seconds());
  }
  if (wire.heartbeat_missed_limit() > 0) {
    options.heartbeat_missed_limit = wire.heartbeat_missed_limit();
  }
  return options;
}

// The state in --data-dir's journal and snapshots (nothing without it, said
// loudly), and the journal's options in `options`.
absl::StatusOr<ccr::Recovered> RecoverFromDataDir(const Flags& flags, ccr::EngineOptions& options) {
  if (flags.data_dir.empty()) {
    ccr::LogAlways("no_journal",
                   {{"warning",
                     "no --data-dir: contacts and agent state do not survive a "
                     "restart; never run production like this"}},
                   ccr::LogLevel::kWarn);
    return ccr::Recovered{};
  }
  options.journal.dir = flags.data_dir;
  options.journal.fsync = flags.fsync;
  options.snapshot_every_commands = flags.snapshot_every;
  if (!flags.fsync) {
    ccr::LogAlways("fsync_off",
                   {{"warning",
                     "--fsync=off: acknowledged contacts are lost if the machine "
                     "crashes; for tests and benchmarks only"}},
                   ccr::LogLevel::kWarn);
  }
  absl::StatusOr<ccr::Recovered> r = ccr::Recover({flags.data_dir, flags.recover_skip_corrupt});
  if (!r.ok()) return StartError(absl::StrCat("recovery failed: ", r.status().message()));
  for (const std::string& d : r->report.dropped) {
    ccr::LogAlways("recovery_dropped", {{"what", d}}, ccr::LogLevel::kWarn);
  }
  ccr::LogAlways("recovered",
                 {{"snapshot", r->report.snapshot_file},
                  {"snapshot_index", absl::StrCat(r->report.snapshot_index)},
                  {"records_replayed", absl::StrCat(r->report.records_replayed)},
                  {"segments", absl::StrCat(r->report.segments_read)},
                  {"bytes", absl::StrCat(r->report.bytes_read)},
                  {"live_contacts", absl::StrCat(r->router ? r->router->live_contacts() : 0)},
                  {"elapsed_ms", absl::StrCat(absl::ToDoubleMilliseconds(r->report.elapsed))}});
  return r;
}

// The gRPC server with the three services, listening; `bound_port` is the
// port it got (the one asked for, or a free one for 0).
// `generic` (a standby's) answers every method no service has. `desk` (the
// owner's AgentDesk, on its own completion queues) is started with the
// server; stop it after the server's Shutdown, before the server is destroyed.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(
    const Flags& flags, const GrpcCredentials& credentials,
    const std::vector<grpc::Service*>& services, grpc::CallbackGenericService* generic,
    ccr::AgentDeskServer* desk, ccr::metrics::GrpcMetrics& grpc_metrics, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string grpc_address = ccr::JoinHostPort(flags.grpc_host, flags.grpc_port);
  builder.AddListeningPort(grpc_address, credentials.credentials, bound_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(ccr::InputLimits::kMaxMessageBytes));
  // Keepalive: a vanished desktop is noticed within seconds.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(grpc_metrics.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (generic != nullptr) builder.RegisterCallbackGenericService(generic);
  if (desk != nullptr) desk->AddTo(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return StartError(absl::StrCat("--listen: cannot listen on ", grpc_address));
  }
  if (desk != nullptr) desk->Start();
  return server;
}

// A /metrics scrape without the token the config asks for: 401 or 403.
std::optional<ccr::HttpResponse> RefuseMetricsScrape(ccr::Authenticator& auth,
                                                     const ccr::HttpRequest& request) {
  if (!auth.metrics_require_token()) return std::nullopt;
  absl::StatusOr<ccr::Principal> who = auth.AuthorizeCredentials(
      request.authorization, "", ccr::kReadRoles, "GET /metrics", request.peer);
  if (who.ok()) return std::nullopt;
  return ccr::HttpResponse{who.status().code() == absl::StatusCode::kPermissionDenied ? 403 : 401,
                           "text/plain; charset=utf-8", absl::StrCat(who.status().message(), "\n")};
}

// Answers /metrics, /healthz and /readyz on the HTTP thread (`http_io`).
ccr::HttpHandler MetricsAndHealthHandler(ccr::Engine& engine, ccr::Authenticator& auth,
                                         ccr::metrics::MetricsRegistry& metrics,
                                         boost::asio::io_context& http_io) {
  ccr::metrics::MetricsRegistry* registry = &metrics;
  prometheus::Counter* scrape_timeouts = &metrics.Counter(ccr::metrics::kHttpScrapeTimeouts);
  return [&engine, registry, &auth, &http_io, scrape_timeouts](const ccr::HttpRequest& request,
                                                               ccr::HttpRespond respond) {
    const std::string& path = request.path;
    if (request.method != "GET" && request.method != "HEAD") {
      ccr::HttpResponse refused = ccr::HttpJsonError(405, "UNIMPLEMENTED", "use GET or HEAD");
      refused.headers.emplace_back("Allow", "GET, HEAD");
      return respond(std::move(refused));
    }
    if (path == "/metrics") {
      if (std::optional<ccr::HttpResponse> refused = RefuseMetricsScrape(auth, request)) {
        return respond(*std::move(refused));
      }
      // The strand only copies the live router's figures it needs (a few
      // per queue and channel); the families are collected and the text is
      // made here, on the HTTP thread. Whichever comes first, the figures or
      // the timeout, answers.
      struct Scrape {
        explicit Scrape(boost::asio::io_context& io) : timeout(io) {}
        std::atomic<bool> answered{false};
        boost::asio::steady_timer timeout;
      };
      auto scrape = std::make_shared<Scrape>(http_io);
      scrape->timeout.expires_after(kScrapeTimeout);
      scrape->timeout.async_wait([scrape, respond,
                                  scrape_timeouts](const boost::system::error_code& ec) {
        if (ec || scrape->answered.exchange(true)) return;
        scrape_timeouts->Increment();
        respond({503, "text/plain; charset=utf-8", "the routing strand is busy; scrape again\n"});
      });
      engine.Post([scrape, respond, registry, &http_io](ccr::Engine&) {
        if (scrape->answered.load()) return;  // timed out already: spare the work
        auto figures = std::make_shared<ccr::metrics::StrandFigures>(registry->CollectOnStrand());
        boost::asio::post(http_io, [scrape, respond, registry, figures] {
          if (scrape->answered.exchange(true)) return;
          scrape->timeout.cancel();
          respond({200, "text/plain; version=0.0.4; charset=utf-8",
                   ccr::metrics::SerializeText(registry->Collect(std::move(*figures)))});
        });
      });
      return;
    }
    // Health answers from atomics, without the strand.
    if (path == "/healthz") return respond({200, "text/plain; charset=utf-8", "ok\n"});
    if (path == "/readyz") {
      return respond(engine.draining()
                         ? ccr::HttpResponse{503, "text/plain; charset=utf-8", "draining\n"}
                         : ccr::HttpResponse{200, "text/plain; charset=utf-8", "ready\n"});
    }
    respond({404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz, /readyz\n"});
  };
}

// A standby's gRPC and HTTP ports. They stay open after the takeover until
// the owner's own gRPC server listens on the same port (gRPC binds with
// SO_REUSEPORT), so a client connected to the standby never finds the port
// closed, which would cost it gRPC's reconnect backoff (1 s and more).
class StandbyPorts {
 public:
  StandbyPorts() : work_(boost::asio::make_work_guard(io_)), signals_(io_, SIGINT, SIGTERM) {}
  ~StandbyPorts() { Close(); }
  StandbyPorts(const StandbyPorts&) = delete;
  StandbyPorts& operator=(const StandbyPorts&) = delete;

  // Opens both ports (`flags`' ports are set to the bound ones) and runs the
  // HTTP thread. SIGTERM/SIGINT then set stop().
  absl::Status Open(Flags& flags, const GrpcCredentials& credentials, ccr::Authenticator& auth,
                    ccr::metrics::MetricsRegistry& metrics,
                    ccr::metrics::GrpcMetrics& grpc_metrics) {
    CCR_ASSIGN_OR_RETURN(grpc_, StartGrpcServer(flags, credentials, {}, responder_.get(), nullptr,
                                                grpc_metrics, &flags.grpc_port));
    grpc_->GetHealthCheckService()->SetServingStatus(false);
    ccr::HttpServerOptions http_options;
    http_options.max_connections = flags.http_max_connections;
    http_options.allowed_methods = ccr::HttpApiMethods();
    std::shared_ptr<ccr::cluster::StandbyResponder> responder = responder_;
    CCR_ASSIGN_OR_RETURN(
        http_,
        ccr::HttpServer::Start(
            io_, flags.http_host, flags.http_port,
            [responder, &metrics, &auth](const ccr::HttpRequest& request,
                                         ccr::HttpRespond respond) {
              if (request.path == "/healthz") {
                return respond({200, "text/plain; charset=utf-8", "ok\n"});
              }
              if (request.path == "/metrics") {
                if (std::optional<ccr::HttpResponse> refused = RefuseMetricsScrape(auth, request)) {
                  return respond(*std::move(refused));
                }
                // Nothing here reads routing state (no strand sources, even
                // once an engine exists): the figures are the process's and
                // the cluster's own.
                return respond({200, "text/plain; version=0.0.4; charset=utf-8",
                                ccr::metrics::SerializeText(metrics.Collect({}))});
              }
              return respond(ccr::cluster::StandbyHttpAnswer(request, responder->owner()));
            },
            http_options));
    flags.http_port = http_->port();
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) stop_ = true;
    });
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  ccr::cluster::StandbyResponder& responder() { return *responder_; }
  const std::atomic<bool>& stop() const { return stop_; }

  // Closes both ports (idempotent).
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (http_) http_->Stop();
    signals_.cancel();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    http_.reset();  // closes the listening socket now, for the owner's to bind
    if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now());
  }

 private:
  std::shared_ptr<ccr::cluster::StandbyResponder> responder_ =
      std::make_shared<ccr::cluster::StandbyResponder>();
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::signal_set signals_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<ccr::HttpServer> http_;
  std::thread thread_;
  bool closed_ = false;
};

// Cluster mode, before this node owns the domain: a hot standby following
// the log (ClusterNode). Its gRPC port answers every call UNAVAILABLE with
// the owner's address (StandbyResponder); its HTTP port is alive but not
// ready. Returns the takeover once elected, or nullopt when SIGTERM/SIGINT
// came first. The owner then listens where the standby did (`flags`' ports
// are set to the bound ones); `ports` stay open until it does.
absl::StatusOr<std::optional<ccr::cluster::Takeover>> StandBy(
    Flags& flags, const GrpcCredentials& credentials, ccr::Authenticator& auth,
    ccr::metrics::MetricsRegistry& metrics, ccr::metrics::GrpcMetrics& grpc_metrics,
    const ccr::EngineOptions& engine_options, std::unique_ptr<ccr::cluster::ClusterNode>& node,
    StandbyPorts& ports) {
  if (absl::Status s = ports.Open(flags, credentials, auth, metrics, grpc_metrics); !s.ok()) {
    return StartError(s.message());
  }
  ccr::cluster::ClusterNodeOptions options;
  options.etcd_endpoints = flags.etcd_endpoints;
  options.domain = flags.cluster_domain;
  options.lease_ttl = std::chrono::seconds(flags.lease_ttl_seconds);
  options.event_window = engine_options.event_window;
  options.metrics = &metrics;
  options.self.grpc_address = !flags.advertise.empty()
                                  ? flags.advertise
                                  : ccr::JoinHostPort(flags.grpc_host, flags.grpc_port);
  if (!flags.advertise_http.empty()) {
    options.self.http_address = flags.advertise_http;
  } else if (flags.http_host != "0.0.0.0" && flags.http_host != "::") {
    options.self.http_address = ccr::JoinHostPort(flags.http_host, flags.http_port);
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  options.self.node_name = absl::StrCat(host, ":", flags.grpc_port);
  node = std::make_unique<ccr::cluster::ClusterNode>(std::move(options));
  ccr::cluster::StandbyResponder* responder = &ports.responder();
  node->OnOwnerChanged([responder](const std::optional<ccr::cluster::OwnerInfo>& owner) {
    responder->SetOwner(owner
                            ? ccr::cluster::OwnerAddresses{owner->grpc_address, owner->http_address}
                            : ccr::cluster::OwnerAddresses{});
  });
  CCR_RETURN_IF_ERROR(node->Start());
  ccr::LogAlways("standby", {{"grpc", ccr::JoinHostPort(flags.grpc_host, flags.grpc_port)},
                             {"http", ccr::JoinHostPort(flags.http_host, flags.http_port)},
                             {"etcd", flags.etcd_endpoints},
                             {"domain", flags.cluster_domain}});
  absl::StatusOr<std::optional<ccr::cluster::Takeover>> takeover =
      node->FollowUntilElected(ports.stop());
  node->OnOwnerChanged(nullptr);
  if (ports.stop().load() && takeover.ok()) {
    // Told to stop (even if elected meanwhile): give the place up now, so
    // no one waits out this node's lease to be elected.
    if (absl::Status s = node->Resign(); !s.ok()) {
      ccr::LogEvent(ccr::LogLevel::kWarn, "resign_failed", {{"error", std::string(s.message())}});
    }
    return std::nullopt;
  }
  return takeover;
}

// A deposed owner must stop at once and may not serve again as it was: it
// starts over as a standby by re-executing itself (every descriptor closed
// first, so its listening sockets go with the old image).
[[noreturn]] void RestartAsStandby(char** argv, const std::string& reason) {
  ccr::LogAlways("restarting", {{"reason", reason}, {"next", "standby"}}, ccr::LogLevel::kWarn);
  ccr::StopLogWriter(absl::Seconds(1));
  if (DIR* fds = ::opendir("/proc/self/fd"); fds != nullptr) {
    const int own = ::dirfd(fds);
    while (dirent* entry = ::readdir(fds)) {
      const int fd = std::atoi(entry->d_name);
      if (fd > 2 && fd != own) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::closedir(fds);
  }
  ::execv("/proc/self/exe", argv);
  std::_Exit(75);  // EX_TEMPFAIL: let the supervisor start it again
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ReadFlags(argc, argv);
  if (!flags.ok()) return ExitWith(flags.status());
  if (flags->help) {
    std::fputs(kUsage, stdout);
    std::fputs(ccr::FlagsHelp().c_str(), stdout);
    return 0;
  }
  if (flags->list_metrics) {
    PrintMetricCatalogue();
    return 0;
  }
  ccr::SetLogLevel(flags->log_level);

  // A journal write past a file-size limit must fail with EFBIG (and be
  // refused like a full disk), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);
  RaiseFileLimit();

  absl::StatusOr<LoadedConfig> config = LoadConfig(*flags);
  if (!config.ok()) return ExitWith(config.status());
  if (flags->check_config) {
    std::vector<std::string> names;
    for (const auto& q : config->router.queues) names.push_back(q.name);
    std::printf("config ok: %zu queues (%s)\n", names.size(), absl::StrJoin(names, ", ").c_str());
    return 0;
  }
  absl::StatusOr<std::optional<ccr::DataDirLock>> data_dir_lock = LockDataDir(*flags);
  if (!data_dir_lock.ok()) return ExitWith(data_dir_lock.status());
  absl::StatusOr<GrpcCredentials> credentials = CredentialsFromConfig(*flags, config->wire);
  if (!credentials.ok()) return ExitWith(credentials.status());

  ccr::metrics::MetricsRegistry metrics(CCR_VERSION);
  ccr::Authenticator auth(&metrics);
  if (absl::Status s = ConfigureAuth(*flags, config->wire, auth); !s.ok()) return ExitWith(s);
  ccr::EngineOptions options = EngineOptionsFromConfig(*flags, config->wire);
  options.auth = &auth;
  options.metrics = &metrics;
  ccr::metrics::GrpcMetrics grpc_metrics(metrics, ServedMethods());
  std::unique_ptr<ccr::cluster::ClusterNode> cluster_node;
  StandbyPorts standby_ports;  // cluster mode: open until the owner listens
  absl::StatusOr<ccr::Recovered> recovered;
  if (flags->cluster()) {
    absl::StatusOr<std::optional<ccr::cluster::Takeover>> takeover = StandBy(
        *flags, *credentials, auth, metrics, grpc_metrics, options, cluster_node, standby_ports);
    if (!takeover.ok()) return ExitWith(takeover.status());
    if (!takeover->has_value()) {
      ccr::LogEvent(ccr::LogLevel::kInfo, "stopped", {{"role", "standby"}});
      return 0;
    }
    options.command_log = cluster_node->LogFactory((*takeover)->fence);
    // Every offer this owner makes names its epoch: one a deposed owner made
    // is refused by name, whatever its number.
    ccr::SetOfferIdEpoch((*takeover)->fence.epoch);
    options.snapshot_every_commands = flags->snapshot_every;
    recovered = std::move((*takeover)->recovered);
  } else {
    recovered = RecoverFromDataDir(*flags, options);
  }
  if (!recovered.ok()) return ExitWith(recovered.status());

  // From here on a slow reader of stderr never stalls routing: lines queue for
  // a writer thread (dropped and counted when full), flushed at exit.
  ccr::SetLogDropCounter(&metrics.Counter(ccr::metrics::kLogLinesDropped));
  ccr::StartLogWriter();
  absl::Cleanup flush_log = [] { ccr::StopLogWriter(absl::Seconds(2)); };

  boost::asio::io_context io(1);
  ccr::Engine engine(io, options);
  if (absl::Status s = engine.Start(*std::move(recovered), config->yaml); !s.ok()) {
    return ExitWith(StartError(s.message()));
  }
  ccr::ContactIngestService ingest(engine, auth);
  ccr::AgentDeskServer desk(engine, auth, {.completion_queues = flags->desk_queues});
  absl::StatusOr<ccr::AgentTokenSigner> agent_tokens = AgentTokensFromConfig(*flags, config->wire);
  if (!agent_tokens.ok()) return ExitWith(agent_tokens.status());
  ccr::AdminService admin(engine, auth, &*agent_tokens);
  int bound_grpc_port = 0;
  absl::StatusOr<std::unique_ptr<grpc::Server>> started = StartGrpcServer(
      *flags, *credentials, {&ingest, &admin}, nullptr, &desk, grpc_metrics, &bound_grpc_port);
  if (!started.ok()) return ExitWith(started.status());
  std::unique_ptr<grpc::Server> server = *std::move(started);
  // However main ends: the server shut down (at once, unless a drain or a
  // hand-over already did), then the desk's queues drained, then the server
  // destroyed (declared before this, so after it).
  absl::Cleanup stop_desk = [&] {
    server->Shutdown(std::chrono::system_clock::now());
    desk.Stop();
  };
  standby_ports.Close();  // the owner's server listens on the port now

  // Cluster mode: when this node stops owning routing (deposed, or resigning
  // on SIGTERM), its streams end UNAVAILABLE naming the new owner, so
  // desktops and watchers reconnect there within their grace. Exactly one
  // hand-over runs, on a thread of its own (it waits for etcd).
  std::atomic<bool> handing_over{false};
  std::atomic<bool> stop_requested{false};
  std::thread handover_thread;
  const auto hand_over = [&](bool resign) {
    if (resign) {
      // A planned handover: a standby takes over now, not after the lease.
      cluster_node->OnDeposed(nullptr);
      if (absl::Status s = cluster_node->Resign(); !s.ok()) {
        ccr::LogEvent(ccr::LogLevel::kWarn, "resign_failed", {{"error", std::string(s.message())}});
      }
    }
    // A deposed owner's successor is elected once its lease is gone: at most
    // about one TTL from now. Without one by then, clients go to any node,
    // which redirects them once an owner exists.
    const absl::Duration wait =
        resign ? absl::Seconds(2) : absl::Seconds(flags->lease_ttl_seconds + 1);
    const std::optional<ccr::cluster::OwnerInfo> owner = cluster_node->AwaitOtherOwner(wait);
    const std::string owner_address = owner ? owner->grpc_address : "";
    ccr::LogAlways("handing_over", {{"owner", owner ? owner_address : "unknown"}});
    engine.Post([owner_address](ccr::Engine& e) { e.BeginDrain(owner_address); });
    // Time for the final statuses to reach the clients; then the rest is cut.
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(resign ? 5 : 1));
  };
  if (cluster_node != nullptr) {
    // Serving stops at once: the log already refuses this node's appends
    // once its fence is gone, so nothing more is acknowledged or offered.
    cluster_node->OnDeposed([&, argv](const std::string& reason) {
      if (handing_over.exchange(true)) return;
      ccr::LogAlways("deposed", {{"reason", reason}}, ccr::LogLevel::kWarn);
      // Not on the election's callback thread: it must go on reporting owners.
      handover_thread = std::thread([&, argv, reason] {
        server->GetHealthCheckService()->SetServingStatus(false);
        hand_over(/*resign=*/false);
        if (stop_requested.load()) {
          io.stop();  // told to stop meanwhile: no standby to restart as
          return;
        }
        RestartAsStandby(argv, reason);
      });
    });
  }

  // HTTP runs on its own thread: a flood of connections or a slow scraper
  // never reaches the routing strand.
  boost::asio::io_context http_io(1);
  auto http_work = boost::asio::make_work_guard(http_io);
  ccr::HttpServerOptions http_options;
  http_options.max_connections = flags->http_max_connections;
  http_options.metrics = &metrics;
  http_options.route_label = ccr::HttpRouteLabel;
  // The HTTP/JSON API (/v1/...) beside the operations paths: its methods,
  // and bodies as large as the gRPC edge's largest message.
  http_options.allowed_methods = ccr::HttpApiMethods();
  http_options.max_body_bytes = ccr::InputLimits::kMaxMessageBytes;
  ccr::HttpApi http_api(engine, auth, http_io);
  // The wallboard and the reference desktop (/wallboard, /desk), from memory.
  const ccr::WebPages web_pages;
  // Browser agent desktops: WebSocket upgrades at /v1/agent-desk.
  ccr::WsAgentDeskOptions ws_options = WsAgentDeskOptionsFromConfig(config->wire);
  ws_options.metrics = &metrics;
  ccr::WsAgentDesk ws_desk(engine, auth, *agent_tokens, std::move(ws_options));
  http_options.websocket_upgrade = ws_desk.UpgradeHandler();
  absl::StatusOr<std::unique_ptr<ccr::HttpServer>> http = ccr::HttpServer::Start(
      http_io, flags->http_host, flags->http_port,
      [&http_api, &web_pages, operations = MetricsAndHealthHandler(engine, auth, metrics, http_io)](
          const ccr::HttpRequest& request, ccr::HttpRespond respond) {
        if (http_api.Handle(request, respond)) return;
        if (web_pages.Handle(request, respond)) return;
        operations(request, std::move(respond));
      },
      http_options);
  if (!http.ok()) return ExitWith(StartError(http.status().message()));
  std::thread http_thread([&http_io] { http_io.run(); });
  absl::Cleanup stop_http = [&] {
    http_work.reset();
    http_io.stop();
    http_thread.join();
  };
  std::thread shutdown_thread;
  // Before the listening line: whoever reads it may signal at once.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          // Read and validated on the engine's reload worker, off the strand.
          engine.Reload("", [](absl::StatusOr<ccr::ReloadResult> r) {
            if (!r.ok()) {
              ccr::LogEvent(ccr::LogLevel::kError, "config_reload_failed",
                            {{"error", std::string(r.status().message())}});
            }
          });
          signals.async_wait(on_signal);
          return;
        }
        stop_requested.store(true);
        if (engine.draining() || handing_over.exchange(true)) return;
        ccr::LogEvent(ccr::LogLevel::kInfo, "draining", {{"signal", absl::StrCat(signo)}});
        server->GetHealthCheckService()->SetServingStatus(false);
        (*http)->Stop();
        // Shutdown waits for in-flight calls, which need this thread to finish:
        // run it elsewhere and stop the io_context when it returns.
        if (cluster_node != nullptr) {
          shutdown_thread = std::thread([&] {
            hand_over(/*resign=*/true);
            io.stop();
          });
          return;
        }
        engine.BeginDrain();
        shutdown_thread = std::thread([&] {
          server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
          io.stop();
        });
      };
  signals.async_wait(on_signal);

  ccr::LogAlways("listening", {{"grpc", ccr::JoinHostPort(flags->grpc_host, bound_grpc_port)},
                               {"http", ccr::JoinHostPort(flags->http_host, (*http)->port())},
                               {"tls", credentials->tls ? "on" : "off"},
                               {"config", flags->config.empty() ? "embedded" : flags->config},
                               {"queues", absl::StrCat(config->router.queues.size())},
                               {"data_dir", flags->data_dir},
                               {"role", flags->cluster() ? "owner" : "single"}});

  auto work = boost::asio::make_work_guard(io);
  io.run();
  if (shutdown_thread.joinable()) shutdown_thread.join();
  if (handover_thread.joinable()) handover_thread.join();
  std::move(stop_http).Invoke();
  ccr::LogEvent(ccr::LogLevel::kInfo, "stopped", {});
  return 0;
}
