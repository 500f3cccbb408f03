// ccrouterd: the contact-centre routing engine daemon.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/grpc/services.h"
#include "engine/http_server.h"
#include "engine/journal/data_dir_lock.h"
#include "engine/journal/recovery.h"
#include "engine/log.h"
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

  --config FILE        YAML config (schema: proto/ccrouter/v1/config.proto).
                       Default: the embedded config (deploy/config/default.yaml).
  --listen HOST:PORT   gRPC address (default 127.0.0.1:7700; port 0 picks one).
  --http-listen HOST:PORT
                       /metrics, /healthz, /readyz (default 127.0.0.1:7701; 0 picks).
  --http-max-connections N
                       open HTTP connections at most (default 256); one more is
                       closed at once and counted.
  --data-dir DIR       where the journal and snapshots live (created if missing).
                       Without it nothing survives a restart (a warning says so).
  --fsync on|off       fdatasync every journal batch (default on). off is for
                       tests and benchmarks only: a crash loses acknowledged work.
  --recover-skip-corrupt
                       start even when the journal is damaged before its tail,
                       skipping (and logging) the damaged records.
  --snapshot-every N   snapshot after N journalled commands (default 200000);
                       also every 5 minutes when anything changed.
  --log-level LEVEL    debug, info (default), warn or error.
  --check-config       load and validate the config, print a summary, exit.
  --list-metrics       print the metric catalogue (name, type, labels, help), exit.
  --help               this text.

The first log lines name the bound addresses (event=listening). SIGTERM or
SIGINT drains and exits 0; SIGHUP reloads the config file.
)";

struct Flags {
  std::string config;
  std::string listen = "127.0.0.1:7700";
  std::string http_listen = "127.0.0.1:7701";
  std::string data_dir;
  std::string log_level = "info";
  bool check_config = false;
  bool list_metrics = false;
  bool fsync = true;
  bool recover_skip_corrupt = false;
  uint64_t snapshot_every = 200000;
  size_t http_max_connections = 256;
};

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

int UsageError(const std::string& message) {
  std::fprintf(stderr, "ccrouterd: %s\n(see ccrouterd --help)\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--check-config") {
      flags.check_config = true;
    } else if (arg == "--list-metrics") {
      flags.list_metrics = true;
    } else if (arg == "--recover-skip-corrupt") {
      flags.recover_skip_corrupt = true;
    } else if (arg == "--fsync") {
      std::string v;
      if (!value(&v) || (v != "on" && v != "off")) return UsageError("--fsync needs on or off");
      flags.fsync = v == "on";
    } else if (arg == "--snapshot-every") {
      std::string v;
      if (!value(&v) || !absl::SimpleAtoi(v, &flags.snapshot_every) || flags.snapshot_every == 0) {
        return UsageError("--snapshot-every needs a positive number of commands");
      }
    } else if (arg == "--config") {
      if (!value(&flags.config)) return UsageError("--config needs a FILE");
    } else if (arg == "--listen") {
      if (!value(&flags.listen)) return UsageError("--listen needs HOST:PORT");
    } else if (arg == "--http-listen") {
      if (!value(&flags.http_listen)) return UsageError("--http-listen needs HOST:PORT");
    } else if (arg == "--http-max-connections") {
      std::string v;
      if (!value(&v) || !absl::SimpleAtoi(v, &flags.http_max_connections) ||
          flags.http_max_connections == 0) {
        return UsageError("--http-max-connections needs a positive number");
      }
    } else if (arg == "--data-dir") {
      if (!value(&flags.data_dir)) return UsageError("--data-dir needs a DIR");
    } else if (arg == "--log-level") {
      if (!value(&flags.log_level)) return UsageError("--log-level needs a LEVEL");
    } else {
      return UsageError(absl::StrCat("unknown flag '", arg, "'"));
    }
  }
  if (flags.list_metrics) {
    PrintMetricCatalogue();
    return 0;
  }
  ccr::LogLevel level;
  if (!ccr::ParseLogLevel(flags.log_level, &level)) {
    return UsageError("--log-level: want debug, info, warn or error");
  }
  ccr::SetLogLevel(level);
  std::string grpc_host, http_host;
  int grpc_port = 0, http_port = 0;
  if (absl::Status s = ccr::ParseHostPort("--listen", flags.listen, &grpc_host, &grpc_port);
      !s.ok()) {
    return UsageError(std::string(s.message()));
  }
  if (absl::Status s =
          ccr::ParseHostPort("--http-listen", flags.http_listen, &http_host, &http_port);
      !s.ok()) {
    return UsageError(std::string(s.message()));
  }

  // A journal write past a file-size limit must fail with EFBIG (and be
  // refused like a full disk), not kill the process.
  ::signal(SIGXFSZ, SIG_IGN);
  RaiseFileLimit();

  std::string yaml(ccr::DefaultConfigYaml());
  if (!flags.config.empty()) {
    absl::StatusOr<std::string> text = ccr::ReadFile(flags.config, ccr::kMaxConfigYamlBytes);
    if (!text.ok()) return UsageError(absl::StrCat("--config: ", text.status().message()));
    yaml = std::move(*text);
  }
  ccr::v1::Config wire;
  absl::StatusOr<ccr::RouterConfig> config = ccr::LoadRouterConfig(yaml, &wire);
  if (!config.ok()) {
    std::fprintf(stderr, "ccrouterd: %s: %s\n",
                 flags.config.empty() ? "embedded config" : flags.config.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  if (flags.check_config) {
    std::vector<std::string> names;
    for (const auto& q : config->queues) names.push_back(q.name);
    std::printf("config ok: %zu queues (%s)\n", names.size(), absl::StrJoin(names, ", ").c_str());
    return 0;
  }
  // Held until exit, taken before recovery reads anything: one engine per
  // journal (engine/journal/data_dir_lock.h).
  std::optional<ccr::DataDirLock> data_dir_lock;
  if (!flags.data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags.data_dir, ec);
    if (ec) return UsageError(absl::StrCat("--data-dir: ", ec.message()));
    absl::StatusOr<ccr::DataDirLock> lock = ccr::DataDirLock::Acquire(flags.data_dir);
    if (!lock.ok()) {
      std::fprintf(stderr, "ccrouterd: %s\n", std::string(lock.status().message()).c_str());
      return 1;
    }
    data_dir_lock.emplace(*std::move(lock));
  }

  // The gRPC port: TLS from the config, or plaintext only when it says so.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool credentials_are_tls = false;
  const bool client_ca_set = !wire.tls().client_ca_file().empty();
  if (!wire.tls().cert_file().empty() || !wire.tls().key_file().empty() || client_ca_set) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls = ccr::TlsCredentials(wire.tls());
    if (!tls.ok()) return UsageError(std::string(tls.status().message()));
    credentials = *std::move(tls);
    credentials_are_tls = true;
  } else if (wire.plaintext()) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    std::fprintf(stderr,
                 "ccrouterd: %s: tls: set tls.cert_file and tls.key_file, or `plaintext: true` to "
                 "serve without TLS\n",
                 flags.config.empty() ? "embedded config" : flags.config.c_str());
    return 1;
  }

  ccr::metrics::MetricsRegistry metrics(CCR_VERSION);
  ccr::Authenticator auth(&metrics);
  absl::StatusOr<ccr::AuthPolicy> policy = ccr::LoadAuthPolicy(wire.auth(), client_ca_set);
  if (!policy.ok()) {
    std::fprintf(stderr, "ccrouterd: %s: %s\n",
                 flags.config.empty() ? "embedded config" : flags.config.c_str(),
                 std::string(policy.status().message()).c_str());
    return 1;
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
  ccr::EngineOptions options;
  options.auth = &auth;
  options.tls_client_ca_set = client_ca_set;
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
  options.metrics = &metrics;
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
  ccr::Recovered recovered;
  if (flags.data_dir.empty()) {
    ccr::LogAlways("no_journal",
                   {{"warning",
                     "no --data-dir: contacts and agent state do not survive a "
                     "restart; never run production like this"}},
                   ccr::LogLevel::kWarn);
  } else {
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
    if (!r.ok()) {
      std::fprintf(stderr, "ccrouterd: recovery failed: %s\n",
                   std::string(r.status().message()).c_str());
      return 1;
    }
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
    recovered = std::move(*r);
  }

  // From here on a slow reader of stderr never stalls routing: lines queue for
  // a writer thread (dropped and counted when full), flushed at exit.
  ccr::SetLogDropCounter(&metrics.Counter(ccr::metrics::kLogLinesDropped));
  ccr::StartLogWriter();
  absl::Cleanup flush_log = [] { ccr::StopLogWriter(absl::Seconds(2)); };

  boost::asio::io_context io(1);
  ccr::Engine engine(io, options);
  if (absl::Status s = engine.Start(std::move(recovered), yaml); !s.ok()) {
    std::fprintf(stderr, "ccrouterd: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  ccr::ContactIngestService ingest(engine, auth);
  ccr::AgentDeskService desk(engine, auth);
  ccr::AdminService admin(engine, auth);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_grpc_port = 0;
  const std::string grpc_address = grpc_host.find(':') != std::string::npos
                                       ? absl::StrCat("[", grpc_host, "]:", grpc_port)
                                       : absl::StrCat(grpc_host, ":", grpc_port);
  builder.AddListeningPort(grpc_address, credentials, &bound_grpc_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(ccr::InputLimits::kMaxMessageBytes));
  // Keepalive: a vanished desktop is noticed within seconds.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  ccr::metrics::GrpcMetrics grpc_metrics(metrics, ServedMethods());
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(grpc_metrics.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.RegisterService(&ingest);
  builder.RegisterService(&desk);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_grpc_port == 0) {
    std::fprintf(stderr, "ccrouterd: --listen: cannot listen on %s\n", grpc_address.c_str());
    return 1;
  }

  // HTTP runs on its own thread: a flood of connections or a slow scraper
  // never reaches the routing strand.
  boost::asio::io_context http_io(1);
  auto http_work = boost::asio::make_work_guard(http_io);
  ccr::metrics::MetricsRegistry* registry = &metrics;
  prometheus::Counter* scrape_timeouts = &metrics.Counter(ccr::metrics::kHttpScrapeTimeouts);
  ccr::HttpServerOptions http_options;
  http_options.max_connections = flags.http_max_connections;
  http_options.metrics = &metrics;
  absl::StatusOr<std::unique_ptr<ccr::HttpServer>> http = ccr::HttpServer::Start(
      http_io, http_host, http_port,
      [&engine, registry, &auth, &http_io, scrape_timeouts](const ccr::HttpRequest& request,
                                                            ccr::HttpRespond respond) {
        const std::string& path = request.path;
        if (path == "/metrics") {
          if (auth.metrics_require_token()) {
            absl::StatusOr<ccr::Principal> who = auth.AuthorizeCredentials(
                request.authorization, "", ccr::kReadRoles, "GET /metrics", request.peer);
            if (!who.ok()) {
              return respond(
                  {who.status().code() == absl::StatusCode::kPermissionDenied ? 403 : 401,
                   "text/plain; charset=utf-8", absl::StrCat(who.status().message(), "\n")});
            }
          }
          // The scrape sources read the live router, so the figures are
          // collected on the strand; the text is made here, on the HTTP
          // thread. Whichever comes first, the figures or the timeout, answers.
          struct Scrape {
            explicit Scrape(boost::asio::io_context& io) : timeout(io) {}
            std::atomic<bool> answered{false};
            boost::asio::steady_timer timeout;
          };
          auto scrape = std::make_shared<Scrape>(http_io);
          scrape->timeout.expires_after(kScrapeTimeout);
          scrape->timeout.async_wait(
              [scrape, respond, scrape_timeouts](const boost::system::error_code& ec) {
                if (ec || scrape->answered.exchange(true)) return;
                scrape_timeouts->Increment();
                respond({503, "text/plain; charset=utf-8",
                         "the routing strand is busy; scrape again\n"});
              });
          engine.Post([scrape, respond, registry, &http_io](ccr::Engine&) {
            if (scrape->answered.load()) return;  // timed out already: spare the work
            auto families =
                std::make_shared<std::vector<prometheus::MetricFamily>>(registry->Collect());
            boost::asio::post(http_io, [scrape, respond, families] {
              if (scrape->answered.exchange(true)) return;
              scrape->timeout.cancel();
              respond({200, "text/plain; version=0.0.4; charset=utf-8",
                       ccr::metrics::SerializeText(*families)});
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
      },
      http_options);
  if (!http.ok()) {
    std::fprintf(stderr, "ccrouterd: %s\n", std::string(http.status().message()).c_str());
    server->Shutdown();
    return 1;
  }
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
        if (engine.draining()) return;
        ccr::LogEvent(ccr::LogLevel::kInfo, "draining", {{"signal", absl::StrCat(signo)}});
        server->GetHealthCheckService()->SetServingStatus(false);
        engine.BeginDrain();
        (*http)->Stop();
        // Shutdown waits for in-flight calls, which need this thread to finish:
        // run it elsewhere and stop the io_context when it returns.
        shutdown_thread = std::thread([&] {
          server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
          io.stop();
        });
      };
  signals.async_wait(on_signal);

  ccr::LogAlways("listening", {{"grpc", absl::StrCat(grpc_host, ":", bound_grpc_port)},
                               {"http", absl::StrCat(http_host, ":", (*http)->port())},
                               {"tls", credentials_are_tls ? "on" : "off"},
                               {"config", flags.config.empty() ? "embedded" : flags.config},
                               {"queues", absl::StrCat(config->queues.size())},
                               {"data_dir", flags.data_dir}});

  auto work = boost::asio::make_work_guard(io);
  io.run();
  if (shutdown_thread.joinable()) shutdown_thread.join();
  std::move(stop_http).Invoke();
  ccr::LogEvent(ccr::LogLevel::kInfo, "stopped", {});
  return 0;
}
