// The metric catalogue: every metric ccrouterd exports, with its type, help
// text and label names, defined once here. Everything else (the registry,
// the router observer, the scrape-time collectors, `ccrouterd
// --list-metrics`, the dashboard and alert-rule tests) refers to these
// definitions, so a metric cannot be exported without being catalogued.
//
// Naming follows Prometheus conventions: prefix `ccr_`, base units
// (seconds, ratios), `_total` on counters. Labels are low-cardinality only:
// queue, channel, tier, policy, outcome, reason, state, command, kind, service,
// method, code. No
// contact, customer or agent id is ever a label.
//
//   const MetricDef& def = kContactsSubmitted;
//   prometheus::Family<prometheus::Counter>& f = BuildCounterFamily(def, registry);
#ifndef CCROUTER_METRICS_CATALOGUE_H_
#define CCROUTER_METRICS_CATALOGUE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "prometheus/metric_type.h"

namespace ccr::metrics {

struct MetricDef {
  absl::string_view name;
  prometheus::MetricType type;
  absl::string_view help;
  // Label names in the order callers give values, comma-separated.
  absl::string_view labels;

  std::vector<std::string> LabelNames() const;
};

using prometheus::MetricType;

// ---- contacts, by queue / channel / tier (RouterMetrics) ----
inline constexpr MetricDef kContactsSubmitted{
    "ccr_contacts_submitted_total", MetricType::Counter,
    "Contacts that entered a queue (submitted, scheduled callbacks once due, follow-ups).",
    "queue,channel,tier"};
// policy: the routing policy (ranked, fifo) in force on the queue when the
// contact arrived, so an A/B test's arms can be compared on live traffic.
inline constexpr MetricDef kContactsAnswered{
    "ccr_contacts_answered_total", MetricType::Counter,
    "Contacts an agent accepted (answered), by the queue they were answered from and the routing "
    "policy in force at their arrival.",
    "queue,channel,tier,policy"};
inline constexpr MetricDef kContactsAnsweredWithinTarget{
    "ccr_contacts_answered_within_target_total", MetricType::Counter,
    "Answered contacts whose wait was within their queue's answer target, by the routing policy "
    "in force at their arrival.",
    "queue,channel,tier,policy"};
inline constexpr MetricDef kContactsAbandoned{
    "ccr_contacts_abandoned_total", MetricType::Counter,
    "Contacts whose customer left before being answered; reason=short when within the queue's "
    "short-abandon threshold (not counted against the service level), else long; by the routing "
    "policy in force at their arrival.",
    "queue,channel,tier,reason,policy"};
inline constexpr MetricDef kContactsEnded{
    "ccr_contacts_ended_total", MetricType::Counter,
    "Contacts that ended other than by abandonment: outcome=resolved|unresolved (completed), "
    "expired, cancelled, transferred (moved to another queue).",
    "queue,channel,tier,outcome"};
inline constexpr MetricDef kQueueWait{
    "ccr_queue_wait_seconds", MetricType::Histogram,
    "Wait from arrival (the SLA clock) until an agent accepted, per queue.", "queue,channel"};
inline constexpr MetricDef kSlaBreaches{
    "ccr_sla_breaches_total", MetricType::Counter,
    "Contacts still waiting when their queue's answer target passed.", "queue,channel"};
inline constexpr MetricDef kOverflows{"ccr_overflows_total", MetricType::Counter,
                                      "Overflow steps taken (eligibility widened by wait).",
                                      "queue,channel"};
inline constexpr MetricDef kEscalations{
    "ccr_escalations_total", MetricType::Counter,
    "Contacts escalated: reason=senior (needs a senior agent) or supervisor_alert.",
    "queue,reason"};
inline constexpr MetricDef kOffers{
    "ccr_offers_total", MetricType::Counter,
    "Offers to agents by outcome: made, accepted, rejected, timed_out, withdrawn.",
    "channel,outcome"};
inline constexpr MetricDef kFollowUps{
    "ccr_follow_ups_total", MetricType::Counter,
    "Follow-ups that came due: reason=follow_up (progress report, resolution) or survey.",
    "reason"};

// ---- per queue, read at scrape time ----
inline constexpr MetricDef kQueueDepth{"ccr_queue_depth", MetricType::Gauge,
                                       "Contacts waiting in the queue (not yet offered).",
                                       "queue,channel"};
inline constexpr MetricDef kQueueOffered{"ccr_queue_offered", MetricType::Gauge,
                                         "Contacts of the queue offered to an agent right now.",
                                         "queue,channel"};
inline constexpr MetricDef kQueueConnected{"ccr_queue_connected", MetricType::Gauge,
                                           "Contacts of the queue connected to an agent right now.",
                                           "queue,channel"};
inline constexpr MetricDef kQueueOldestWait{
    "ccr_queue_oldest_wait_seconds", MetricType::Gauge,
    "Wait so far of the longest-waiting contact in the queue (0 when empty).", "queue,channel"};
inline constexpr MetricDef kQueueServiceLevel{
    "ccr_queue_service_level_ratio", MetricType::Gauge,
    "Service level over the sliding window (ccr_queue_service_level_window_seconds): answered "
    "within target / (answered + abandoned after the short-abandon threshold). NaN when nothing "
    "was answered or abandoned in the window.",
    "queue,channel"};
inline constexpr MetricDef kQueueServiceLevelWindow{
    "ccr_queue_service_level_window_seconds", MetricType::Gauge,
    "Length of the sliding window behind ccr_queue_service_level_ratio.", "queue,channel"};
inline constexpr MetricDef kQueueServiceLevelTarget{
    "ccr_queue_service_level_target_ratio", MetricType::Gauge,
    "The queue's service-level target: this share answered within the answer target.",
    "queue,channel"};
inline constexpr MetricDef kQueueAnswerTarget{
    "ccr_queue_answer_target_seconds", MetricType::Gauge,
    "The queue's answer target (e.g. 20 for voice 80/20).", "queue,channel"};
inline constexpr MetricDef kQueueAgentsEligible{
    "ccr_queue_agents_eligible", MetricType::Gauge,
    "Logged-in agents qualified for the queue before any overflow.", "queue,channel"};
inline constexpr MetricDef kQueueAgentsAvailable{
    "ccr_queue_agents_available", MetricType::Gauge,
    "Of the eligible agents, those free to take a contact of the queue now.", "queue,channel"};
inline constexpr MetricDef kQueueEstimatedWait{
    "ccr_queue_estimated_wait_seconds", MetricType::Gauge,
    "Estimated wait for a contact arriving now (what IVRs announce).", "queue,channel"};

// ---- agents, read at scrape time ----
inline constexpr MetricDef kAgents{
    "ccr_agents", MetricType::Gauge,
    "Logged-in agents by state (available, not_ready, busy, wrap_up, resting) for each channel "
    "they serve.",
    "channel,state"};
inline constexpr MetricDef kAgentOccupancy{
    "ccr_agent_occupancy_ratio", MetricType::Gauge,
    "Mean occupancy of logged-in agents serving the channel: handling / (handling + available "
    "idle).",
    "channel"};

// ---- the engine ----
inline constexpr MetricDef kRoutingDecision{
    "ccr_routing_decision_duration_seconds", MetricType::Histogram,
    "Time the routing strand spends applying one command to the router (scoring, matching, "
    "timers due), by command.",
    "command"};
inline constexpr MetricDef kStrandBacklog{
    "ccr_strand_backlog", MetricType::Gauge,
    "Work queued for the routing strand, including commands awaiting the journal.", ""};
inline constexpr MetricDef kStrandBacklogLimit{
    "ccr_strand_backlog_limit", MetricType::Gauge,
    "Backlog at which new submits are refused with RESOURCE_EXHAUSTED.", ""};
inline constexpr MetricDef kRejectedOverload{
    "ccr_overload_rejections_total", MetricType::Counter,
    "Requests refused with RESOURCE_EXHAUSTED because the strand backlog was at its limit.", ""};
inline constexpr MetricDef kJournalCommitWait{
    "ccr_journal_commit_wait_seconds", MetricType::Histogram,
    "Time a command waited from its journal append until it was durable (group commit).", ""};
inline constexpr MetricDef kJournalFsync{"ccr_journal_fsync_duration_seconds",
                                         MetricType::Histogram,
                                         "Duration of one journal batch's fdatasync (cluster mode: "
                                         "its etcd transaction).",
                                         ""};
inline constexpr MetricDef kJournalBatchRecords{
    "ccr_journal_batch_records", MetricType::Histogram,
    "Commands per journal batch (how many share one fdatasync).", ""};
inline constexpr MetricDef kJournalBytes{"ccr_journal_bytes_total", MetricType::Counter,
                                         "Bytes written to journal segments.", ""};
inline constexpr MetricDef kJournalWriteErrors{
    "ccr_journal_write_errors_total", MetricType::Counter,
    "Journal batches that failed (disk full, I/O error; cluster mode: etcd unreachable, no "
    "quorum, or this node deposed); their commands were refused.",
    ""};
inline constexpr MetricDef kSnapshots{"ccr_snapshots_total", MetricType::Counter,
                                      "Snapshots written, by outcome (ok, error).", "outcome"};
inline constexpr MetricDef kSnapshotAge{
    "ccr_snapshot_age_seconds", MetricType::Gauge,
    "Seconds since the last snapshot was written (since start-up when none yet).", ""};
inline constexpr MetricDef kJournalEnabled{
    "ccr_journal_enabled", MetricType::Gauge,
    "1 when a journal makes state durable (--data-dir given), else 0.", ""};

// ---- the gRPC edge ----
inline constexpr MetricDef kGrpcHandled{"ccr_grpc_requests_total", MetricType::Counter,
                                        "gRPC calls finished, by service, method and status code.",
                                        "service,method,code"};
inline constexpr MetricDef kGrpcDuration{
    "ccr_grpc_request_duration_seconds", MetricType::Histogram,
    "gRPC call duration from start to status, by service and method (streams: their lifetime).",
    "service,method"};
inline constexpr MetricDef kAuthDenials{
    "ccr_auth_denials_total", MetricType::Counter,
    "Calls refused for their credentials: code=UNAUTHENTICATED (none, unknown, expired) or "
    "PERMISSION_DENIED (a known caller without the role).",
    "code"};
inline constexpr MetricDef kRateLimited{
    "ccr_rate_limited_messages_total", MetricType::Counter,
    "Stream messages refused with RESOURCE_EXHAUSTED for exceeding the stream's message rate.",
    "stream"};
inline constexpr MetricDef kAgentStreams{"ccr_agent_streams", MetricType::Gauge,
                                         "Open agent desktop streams (AgentDesk.Connect).", ""};
inline constexpr MetricDef kWatchStreams{"ccr_watch_streams", MetricType::Gauge,
                                         "Open Admin.WatchEvents streams.", ""};
inline constexpr MetricDef kLogLinesDropped{
    "ccr_log_lines_dropped_total", MetricType::Counter,
    "Log lines dropped because the log reader (stderr) fell behind and the queue was full.", ""};
inline constexpr MetricDef kHttpConnections{"ccr_http_connections", MetricType::Gauge,
                                            "Open connections to the HTTP port.", ""};
inline constexpr MetricDef kHttpConnectionsRefused{
    "ccr_http_connections_refused_total", MetricType::Counter,
    "HTTP connections closed by the server before an answer: reason=limit (a new one, at the "
    "connection cap with every connection in a request or a stream), displaced (one that had "
    "waited longest for a request, to make room for a new one at the cap) or accept_error "
    "(accept failed, e.g. out of file descriptors; the server waits before accepting again).",
    "reason"};
inline constexpr MetricDef kHttpRequests{
    "ccr_http_requests_total", MetricType::Counter,
    "HTTP requests answered, by route (the path's pattern, such as /v1/contacts/{id}, never the "
    "path itself) and status code; a Server-Sent Events stream counts when its headers go out.",
    "route,code"};
inline constexpr MetricDef kHttpDuration{
    "ccr_http_request_duration_seconds", MetricType::Histogram,
    "From a request's header read to its answer's start, by route (SSE: to the stream's "
    "headers).",
    "route"};
inline constexpr MetricDef kWsDesktops{
    "ccr_ws_desktops", MetricType::Gauge,
    "Agent desktops connected over the WebSocket (/v1/agent-desk), logged in or not; "
    "ccr_agent_streams counts logged-in desktops of every transport.",
    ""};
inline constexpr MetricDef kWsUpgradesRefused{
    "ccr_ws_upgrades_refused_total", MetricType::Counter,
    "WebSocket upgrades to /v1/agent-desk refused: reason=not_found, subprotocol, origin, "
    "unauthenticated, permission_denied or limit (http.max_websocket_desktops).",
    "reason"};
inline constexpr MetricDef kHttpScrapeTimeouts{
    "ccr_http_scrape_timeouts_total", MetricType::Counter,
    "/metrics scrapes answered 503 because the routing strand did not hand over its figures in "
    "time.",
    ""};
// Cluster mode (CLUSTER.md); absent without --etcd-endpoints.
inline constexpr MetricDef kClusterOwner{
    "ccr_cluster_owner", MetricType::Gauge,
    "1 while this node owns its routing domain, 0 while it stands by. Summed over the nodes: "
    "1, or 0 while nobody owns (a takeover, or no etcd quorum).",
    ""};
inline constexpr MetricDef kClusterEpoch{
    "ccr_cluster_epoch", MetricType::Gauge,
    "The fencing epoch this node owns under (its election key's create revision); 0 on a "
    "standby. Grows with every new owner.",
    ""};
inline constexpr MetricDef kClusterFollowedIndex{
    "ccr_cluster_followed_index", MetricType::Gauge,
    "A standby: the index of the last command it has applied from the owner's log (its lag is "
    "the owner's ccr_cluster_log_index minus this).",
    ""};
inline constexpr MetricDef kClusterLogIndex{
    "ccr_cluster_log_index", MetricType::Gauge,
    "The owner: the index of the last command its log in etcd has made durable.", ""};
inline constexpr MetricDef kClusterTakeovers{
    "ccr_cluster_takeovers_total", MetricType::Counter,
    "Times this process took the routing domain over as owner (a process restarts its "
    "count: use increase()).",
    ""};
inline constexpr MetricDef kClusterOwnerSuspensions{
    "ccr_cluster_owner_suspensions_total", MetricType::Counter,
    "Times the owner stopped writing because etcd had not renewed its lease in time (etcd "
    "electing a raft leader, out of reach, or this process paused). Each ends resumed (the "
    "lease survived) or deposed; a process restarts its count: use increase().",
    ""};
inline constexpr MetricDef kClusterStandbyLag{
    "ccr_cluster_standby_lag_seconds", MetricType::Gauge,
    "A standby: how long after the owner stamped it the standby applied the last command it "
    "followed (between machines, clock skew counts too); 0 on the owner. See "
    "ccr_cluster_followed_index for the lag in commands.",
    ""};
inline constexpr MetricDef kClusterEtcdRequestSeconds{
    "ccr_cluster_etcd_request_seconds", MetricType::Histogram,
    "Duration of each unary etcd request this node made (Range, Txn, LeaseGrant, ...), by "
    "method; the log's appends are Txn.",
    "method"};
inline constexpr MetricDef kClusterEtcdErrors{
    "ccr_cluster_etcd_errors_total", MetricType::Counter,
    "etcd requests and streams that ended in an error, by method and gRPC code (a stream this "
    "node closed itself is not an error).",
    "method,code"};
inline constexpr MetricDef kLifecycleEvents{"ccr_lifecycle_events_total", MetricType::Counter,
                                            "Lifecycle events published, by kind.", "kind"};
inline constexpr MetricDef kBuildInfo{"ccr_build_info", MetricType::Gauge,
                                      "Always 1; the labels name the build.", "version"};
inline constexpr MetricDef kStartTime{"ccr_start_time_seconds", MetricType::Gauge,
                                      "When this ccrouterd process started (Unix seconds).", ""};

// Every metric above, for --list-metrics and the tests that check the
// dashboard and alert rules against the catalogue.
absl::Span<const MetricDef* const> Catalogue();

// The series names a metric of this definition exposes (histograms:
// _bucket, _sum, _count).
std::vector<std::string> SeriesNames(const MetricDef& def);

}  // namespace ccr::metrics

#endif  // CCROUTER_METRICS_CATALOGUE_H_
