// Recorded arrivals: the contacts submitted in a ccrouterd journal
// (--data-dir), read back as the simulator's arrival stream, so a real day's
// traffic (times, queues, tiers, signals, languages) can be replayed against
// another config or staffing. Only the submits are used: patience and handle
// times still come from the scenario, and the recorded agents are replaced
// by the scenario's.
//
//   absl::StatusOr<std::vector<RecordedContact>> r = ReadJournalArrivals(dir, config);
//   UseRecordedArrivals(*r, config, &scenario);  // PlanContacts now replays them
#ifndef CCROUTER_TOOLS_CCSIM_JOURNAL_ARRIVALS_H_
#define CCROUTER_TOOLS_CCSIM_JOURNAL_ARRIVALS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "router/types.h"
#include "tools/ccsim/scenario.h"

namespace ccr::sim {

// Every submit in the journal, in journal order, timed from midnight (UTC)
// of the first submit's day. The queue is resolved as ccrouterd resolves it
// (ContactSpecFromWire); scheduled callbacks count from their submit time.
// Fails naming the file and offset of a damaged record, or the record whose
// contact does not fit `config`.
absl::StatusOr<std::vector<RecordedContact>> ReadJournalArrivals(const std::string& dir,
                                                                 const RouterConfig& config);

// Makes `scenario` replay `recorded` instead of its own Poisson streams: one
// stream per queue, named "recorded:<queue>", takes its patience and handle
// time from the scenario's first stream on that queue (else: never abandons,
// the channel's handle time).
void UseRecordedArrivals(std::vector<RecordedContact> recorded, const RouterConfig& config,
                         Scenario* scenario);

}  // namespace ccr::sim

#endif  // CCROUTER_TOOLS_CCSIM_JOURNAL_ARRIVALS_H_
