// What ccload's simulated gateways submit: which queues, tiers, languages and
// signals, how often customers return, how patient they are, plus Poisson
// inter-arrival times. No I/O and no clocks: everything is drawn from one
// seeded std::mt19937_64, so one seed gives one sequence.
//
//   absl::StatusOr<TrafficMixConfig> config = ParseTrafficMixYaml(text);  // or DefaultTrafficMix()
//   TrafficMix mix(*config, /*seed=*/42);
//   double gap_seconds = mix.NextInterArrivalSeconds(/*rate_per_second=*/2);
//   Arrival arrival = mix.NextArrival();  // arrival.spec has no idempotency key yet
//
// The mix YAML, read into ccrouter.v1.LoadMix (proto/ccrouter/v1/load_mix.proto)
// the way the engine reads its config (every top-level key optional; a key
// that is present replaces that part of the default whole; shares are
// relative weights; languages are drawn in key order):
//
//   tiers: {standard: 70, silver: 18, gold: 9, vip: 3}
//   languages: {en: 80, es: 14, zh-cmn: 6}
//   complaint_share: 0.08      # of non-emergency contacts, in [0, 1]
//   returning_share: 0.3       # arrivals from a recently seen customer, in [0, 1]
//   returning_pool: 500        # how many recent customers may return
//   queues:
//     - name: voice_billing    # required, as named in the engine's config
//       channel: voice         # required: voice, chat, email or messaging
//       share: 15              # default 1
//       topics: [billing, refund]
//       skill: billing         # what agents need to serve it (default general)
//       emergency: false       # true: contacts carry emergency and a severity
//       patience_seconds: 60   # mean wait before hanging up; 0 = never (default by channel)
//       handle_seconds: 20     # mean handle time of a simulated agent (default by channel)
//       networks: [wechat]     # messaging only
#ifndef CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_
#define CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_

#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ccrouter/v1/types.pb.h"

namespace ccr::load {

// One queue the gateways submit to, and what its contacts look like.
struct QueueMix {
  std::string name;
  ccrouter::v1::Channel channel = ccrouter::v1::CHANNEL_UNSPECIFIED;
  double share = 1;                   // relative weight among the mix's queues
  std::vector<std::string> topics;    // one is drawn per contact; empty: no topic
  std::string skill = "general";      // agents need it to serve the queue; shapes the roster
  bool emergency = false;             // contacts carry emergency and an incident severity
  double patience_seconds = 0;        // mean wait before the customer hangs up; 0: never
  double handle_seconds = 1;          // mean handle time of a simulated agent
  std::vector<std::string> networks;  // messaging networks; one is drawn per contact
};

struct LanguageShare {
  std::string language;  // e.g. "en", "zh-cmn"
  double share = 0;
};

struct TrafficMixConfig {
  // Standard, silver, gold, VIP.
  std::array<double, 4> tier_shares = {70, 18, 9, 3};
  std::vector<LanguageShare> languages = {{"en", 80}, {"es", 14}, {"zh-cmn", 6}};
  double complaint_share = 0.08;  // of non-emergency contacts
  double returning_share = 0.3;   // of arrivals: a recently seen customer comes back
  int returning_pool = 500;       // the most recent new customers, those who may return
  std::vector<QueueMix> queues;
};

// The mix matching ccrouterd's embedded default config: voice_general,
// voice_billing, voice_emergency (1 %), chat_general, messaging_general,
// email_general; channels voice 50 %, chat 25 %, messaging 13 %, email 12 %.
TrafficMixConfig DefaultTrafficMix();

// Parses the mix YAML (format above). Errors are INVALID_ARGUMENT and name the
// field as the engine's config errors do: what the schema refuses (an unknown
// key, a mistyped value) as protobuf's JSON parser says it after "mix: ",
// the rest as "mix.queues[1].share: expected a number in [0, inf], got -1".
// A document of only blank and comment lines gives the default mix.
absl::StatusOr<TrafficMixConfig> ParseTrafficMixYaml(absl::string_view yaml);

// Reads and parses a mix file; errors start with the path.
absl::StatusOr<TrafficMixConfig> ReadTrafficMixFile(const std::string& path);

// Keeps only the mix's queues that the engine has, on the same channel;
// `engine_queues` maps name to channel (e.g. from Admin.ListQueues). Returns
// one line per queue removed, saying why.
std::vector<std::string> KeepQueuesTheEngineHas(
    const std::map<std::string, ccrouter::v1::Channel>& engine_queues, TrafficMixConfig& config);

// Channel-dependent defaults, scaled down so a demo moves.
double DefaultPatienceSeconds(ccrouter::v1::Channel channel);
double DefaultHandleSeconds(ccrouter::v1::Channel channel);

// "voice", "chat", ... ; "unspecified" otherwise.
const char* ChannelName(ccrouter::v1::Channel channel);

// One contact as a gateway would submit it, plus how long the customer waits
// before giving up if nobody has been offered the contact by then.
struct Arrival {
  ccrouter::v1::ContactSpec spec;  // idempotency_key left empty: the caller makes it unique
  double patience_seconds = 0;     // 0: never abandons
};

// Draws arrivals from a mix. A customer keeps their id, tier, language, phone
// and needs on every visit; a returning customer's repeat count grows.
// Not thread-safe: one owner.
class TrafficMix {
 public:
  // REQUIRES: `config` valid (as ParseTrafficMixYaml returns it, or the default).
  TrafficMix(TrafficMixConfig config, uint64_t seed);

  // Exponentially distributed: the gaps of a Poisson process of `rate_per_second`.
  // REQUIRES: rate_per_second > 0
  double NextInterArrivalSeconds(double rate_per_second);

  // REQUIRES: HasQueues()
  Arrival NextArrival();

  // Stops sending to `queue_name` (e.g. the engine does not know it) and
  // spreads its share over the others. False when it was not in the mix.
  bool DropQueue(absl::string_view queue_name);
  bool HasQueues() const { return !config_.queues.empty(); }

  const TrafficMixConfig& config() const { return config_; }

 private:
  struct KnownCustomer {
    std::string id;     // personal data: never printed
    std::string phone;  // personal data: never printed
    ccrouter::v1::Tier tier = ccrouter::v1::TIER_STANDARD;
    std::string language;
    std::vector<ccrouter::v1::Need> needs;
    uint32_t visits = 0;
  };

  KnownCustomer& NextCustomer();
  void RebuildQueueWeights();

  double Uniform01() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool Chance(double p) { return Uniform01() < p; }
  double UniformBetween(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }
  size_t Index(size_t size) { return std::uniform_int_distribution<size_t>(0, size - 1)(rng_); }

  TrafficMixConfig config_;
  std::vector<double> queue_cumulative_;  // running sums of config_.queues' shares
  std::string id_prefix_;                 // from the seed: runs with other seeds meet new people
  uint64_t customers_created_ = 0;
  std::vector<KnownCustomer> recent_;  // ring of up to config_.returning_pool customers
  size_t recent_next_ = 0;             // where the next new customer goes once the ring is full
  std::mt19937_64 rng_;
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_TRAFFIC_MIX_H_
