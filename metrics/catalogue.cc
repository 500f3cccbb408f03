#include "metrics/catalogue.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ccr::metrics {

std::vector<std::string> MetricDef::LabelNames() const {
  if (labels.empty()) return {};
  return absl::StrSplit(labels, ',');
}

absl::Span<const MetricDef* const> Catalogue() {
  static constexpr const MetricDef* kAll[] = {
      &kContactsSubmitted,
      &kContactsAnswered,
      &kContactsAnsweredWithinTarget,
      &kContactsAbandoned,
      &kContactsEnded,
      &kQueueWait,
      &kSlaBreaches,
      &kOverflows,
      &kEscalations,
      &kOffers,
      &kFollowUps,
      &kQueueDepth,
      &kQueueOffered,
      &kQueueConnected,
      &kQueueOldestWait,
      &kQueueServiceLevel,
      &kQueueServiceLevelWindow,
      &kQueueServiceLevelTarget,
      &kQueueAnswerTarget,
      &kQueueAgentsEligible,
      &kQueueAgentsAvailable,
      &kQueueEstimatedWait,
      &kAgents,
      &kAgentOccupancy,
      &kRoutingDecision,
      &kStrandBacklog,
      &kStrandBacklogLimit,
      &kRejectedOverload,
      &kJournalCommitWait,
      &kJournalFsync,
      &kJournalBatchRecords,
      &kJournalBytes,
      &kJournalWriteErrors,
      &kSnapshots,
      &kSnapshotAge,
      &kJournalEnabled,
      &kGrpcHandled,
      &kGrpcDuration,
      &kAgentStreams,
      &kWatchStreams,
      &kLogLinesDropped,
      &kClusterOwner,
      &kClusterEpoch,
      &kClusterFollowedIndex,
      &kClusterLogIndex,
      &kClusterTakeovers,
      &kClusterOwnerSuspensions,
      &kClusterStandbyLag,
      &kClusterEtcdRequestSeconds,
      &kClusterEtcdErrors,
      &kHttpConnections,
      &kHttpRequests,
      &kHttpDuration,
      &kHttpConnectionsRefused,
      &kHttpScrapeTimeouts,
      &kWsDesktops,
      &kWsUpgradesRefused,
      &kLifecycleEvents,
      &kBuildInfo,
      &kStartTime,
      &kAuthDenials,
      &kRateLimited,
  };
  return kAll;
}

std::vector<std::string> SeriesNames(const MetricDef& def) {
  if (def.type != MetricType::Histogram) return {std::string(def.name)};
  return {absl::StrCat(def.name, "_bucket"), absl::StrCat(def.name, "_sum"),
          absl::StrCat(def.name, "_count")};
}

}  // namespace ccr::metrics
