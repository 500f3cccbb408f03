#include "tools/ccload/traffic_mix.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ccr::load {

namespace v1 = ::ccrouter::v1;

namespace {

absl::Status FlagError(const std::string& flag, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what));
}

absl::Status ParseDouble(const std::string& flag, const std::string& text, double min_value,
                         bool min_exclusive, double* out) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value) ||
      (min_exclusive ? value <= min_value : value < min_value)) {
    return FlagError(flag, absl::StrCat("expected a number ", min_exclusive ? "> " : ">= ",
                                        min_value, ", got '", text, "'"));
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace

const char* UsageText() {
  return R"(usage: ccload [flags]

Demo traffic for ccrouterd: simulated gateways submit contacts (Poisson
arrivals) and simulated agents log in, accept, handle and wrap up offers.
Prints per-queue service levels every --stats-interval.

  --server HOST:PORT         ccrouterd gRPC address (default 127.0.0.1:7700)
  --agents N                 simulated agents (default 12)
  --rate PER_SECOND          mean contact arrivals per second (default 2)
  --duration SECONDS         stop after this long; 0 = until Ctrl-C (default 0)
  --seed N                   random seed (default: random, printed at start)
  --stats-interval SECONDS   how often to print statistics (default 1)
  --json                     one JSON object per interval instead of a table
  --help                     this text
)";
}

absl::StatusOr<LoadOptions> ParseArgs(const std::vector<std::string>& args) {
  LoadOptions opts;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      opts.help = true;
      continue;
    }
    if (flag == "--json") {
      if (has_inline_value) return FlagError(flag, "takes no value");
      opts.json = true;
      continue;
    }
    const bool takes_value = flag == "--server" || flag == "--agents" || flag == "--rate" ||
                             flag == "--duration" || flag == "--seed" || flag == "--stats-interval";
    if (!takes_value) {
      return FlagError(flag, "unknown flag");
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return FlagError(flag, "missing value");
      value = args[++i];
    }
    if (flag == "--server") {
      size_t colon = value.rfind(':');
      int port = 0;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(value.substr(colon + 1), &port) || port <= 0 || port > 65535) {
        return FlagError(flag, absl::StrCat("expected HOST:PORT, got '", value, "'"));
      }
      opts.server = value;
    } else if (flag == "--agents") {
      int n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < 0 || n > 999) {
        return FlagError(flag, absl::StrCat("expected an integer 0..999, got '", value, "'"));
      }
      opts.agents = n;
    } else if (flag == "--rate") {
      if (absl::Status s =
              ParseDouble(flag, value, 0, /*min_exclusive=*/false, &opts.rate_per_second);
          !s.ok()) {
        return s;
      }
    } else if (flag == "--duration") {
      if (absl::Status s =
              ParseDouble(flag, value, 0, /*min_exclusive=*/false, &opts.duration_seconds);
          !s.ok()) {
        return s;
      }
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(value, &opts.seed)) {
        return FlagError(flag, absl::StrCat("expected an unsigned integer, got '", value, "'"));
      }
      opts.seed_given = true;
    } else if (flag == "--stats-interval") {
      if (absl::Status s =
              ParseDouble(flag, value, 0, /*min_exclusive=*/true, &opts.stats_interval_seconds);
          !s.ok()) {
        return s;
      }
    }
  }
  return opts;
}

TrafficMix::TrafficMix(uint64_t seed) : rng_(seed) {}

double TrafficMix::NextInterArrivalSeconds(double rate_per_second) {
  return std::exponential_distribution<double>(rate_per_second)(rng_);
}

Arrival TrafficMix::NextArrival() {
  Arrival arrival;
  v1::ContactSpec& spec = arrival.spec;
  spec.set_direction(v1::DIRECTION_INBOUND);

  // Tier first; the customer comes from that tier's slice of the pool.
  static constexpr v1::Tier kTiers[4] = {v1::TIER_STANDARD, v1::TIER_SILVER, v1::TIER_GOLD,
                                         v1::TIER_VIP};
  double u = Uniform01();
  int tier_index = 3;
  int pool_begin = 0;
  for (int t = 0; t < 4; ++t) {
    if (u < kTierShare[t] || t == 3) {
      tier_index = t;
      break;
    }
    u -= kTierShare[t];
    pool_begin += static_cast<int>(kTierShare[t] * kCustomerPoolSize);
  }
  const int pool_size = std::max(1, static_cast<int>(kTierShare[tier_index] * kCustomerPoolSize));
  const int customer_number =
      pool_begin + std::uniform_int_distribution<int>(0, pool_size - 1)(rng_);
  v1::Customer& customer = *spec.mutable_customer();
  customer.set_id(absl::StrFormat("cust-%06d", customer_number));
  customer.set_tier(kTiers[tier_index]);
  // A customer keeps their language across visits.
  customer.set_language(customer_number % 100 < kSpanishShare * 100 ? "es" : "en");

  v1::Signals& signals = *spec.mutable_signals();
  if (Chance(kEmergencyShare)) {
    spec.set_channel(v1::CHANNEL_VOICE);
    spec.set_queue("voice_emergency");
    static constexpr const char* kTopics[] = {"emergency", "outage", "fraud"};
    spec.set_topic(kTopics[std::uniform_int_distribution<int>(0, 2)(rng_)]);
    signals.set_emergency(true);
    signals.set_incident_severity(
        static_cast<v1::Severity>(std::uniform_int_distribution<int>(1, 3)(rng_)));
    signals.set_sentiment(-0.3 - 0.6 * Uniform01());
    arrival.patience_seconds = 30 + Exponential(90);
    return arrival;
  }

  // Channel mix: voice 50 %, chat 25 %, messaging 13 %, email 12 %.
  const double c = Uniform01();
  if (c < 0.50) {
    spec.set_channel(v1::CHANNEL_VOICE);
    if (Chance(0.30)) {
      spec.set_queue("voice_billing");
      static constexpr const char* kTopics[] = {"billing", "refund", "payment"};
      spec.set_topic(kTopics[std::uniform_int_distribution<int>(0, 2)(rng_)]);
    } else {
      spec.set_queue("voice_general");
      static constexpr const char* kTopics[] = {"general", "orders", "account"};
      spec.set_topic(kTopics[std::uniform_int_distribution<int>(0, 2)(rng_)]);
    }
    arrival.patience_seconds = 5 + Exponential(60);
  } else if (c < 0.75) {
    spec.set_channel(v1::CHANNEL_CHAT);
    spec.set_queue("chat_general");
    spec.set_topic(Chance(0.5) ? "orders" : "account");
    arrival.patience_seconds = 10 + Exponential(150);
  } else if (c < 0.88) {
    spec.set_channel(v1::CHANNEL_MESSAGING);
    spec.set_queue("messaging_general");
    static constexpr const char* kNetworks[] = {"wechat", "sms", "whatsapp"};
    spec.set_messaging_network(kNetworks[std::uniform_int_distribution<int>(0, 2)(rng_)]);
    spec.set_topic("general");
    arrival.patience_seconds = 30 + Exponential(300);
  } else {
    spec.set_channel(v1::CHANNEL_EMAIL);
    spec.set_queue("email_general");
    spec.set_topic(Chance(0.5) ? "billing" : "general");
    arrival.patience_seconds = 0;  // an email is never withdrawn
  }

  if (Chance(kComplaintShare)) {
    signals.set_complaint(true);
    signals.set_sentiment(-0.4 - 0.55 * Uniform01());
    if (Chance(0.3)) signals.add_keywords(Chance(0.5) ? "cancel" : "regulator");
    signals.set_repeat_contacts_24h(std::uniform_int_distribution<int>(0, 3)(rng_));
  } else {
    signals.set_sentiment(-0.3 + 1.1 * Uniform01());
  }
  return arrival;
}

std::vector<AgentProfile> MakeAgentRoster(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto level = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  std::vector<AgentProfile> roster(count);
  bool any_billing = false, any_emergency = false, any_spanish = false;
  for (int i = 0; i < count; ++i) {
    v1::Login& login = roster[i].login;
    login.set_agent_id(absl::StrFormat("agent-%03d", i + 1));
    login.set_display_name(absl::StrFormat("Demo Agent %d", i + 1));
    login.set_start_available(true);
    auto add_skill = [&login](const char* name, int lvl) {
      v1::Skill* s = login.add_skills();
      s->set_name(name);
      s->set_level(lvl);
    };
    add_skill("general", level(5, 9));
    if (chance(0.40)) {
      add_skill("billing", level(4, 8));
      any_billing = true;
    }
    if (chance(0.20)) {
      add_skill("emergency", 6);
      any_emergency = true;
    }
    if (chance(0.25)) add_skill("senior", level(5, 8));
    login.add_languages("en");
    if (chance(0.30)) {
      login.add_languages("es");
      any_spanish = true;
    }
    // ~20 % voice-only, ~25 % digital-only, the rest blended.
    const double kind = std::uniform_real_distribution<double>(0, 1)(rng);
    const bool voice = kind >= 0.20 + 0.25 || kind < 0.20;
    const bool digital = kind >= 0.20;
    auto add_capacity = [&login](v1::Channel channel, int max_concurrent) {
      v1::ChannelCapacity* cap = login.add_capacities();
      cap->set_channel(channel);
      cap->set_max_concurrent(max_concurrent);
    };
    if (voice) add_capacity(v1::CHANNEL_VOICE, 1);
    if (digital) {
      add_capacity(v1::CHANNEL_CHAT, 3);
      add_capacity(v1::CHANNEL_EMAIL, 5);
      add_capacity(v1::CHANNEL_MESSAGING, 3);
    }
  }
  // Make sure every queue has someone to go to. Agent 2 and 3 (if any) are
  // patched rather than agent 1 so a two-agent roster still gets both skills.
  auto patch = [&roster, count](int index, auto&& fn) {
    if (count > 0) fn(roster[std::min(index, count - 1)].login);
  };
  if (!any_billing)
    patch(1, [](v1::Login& l) {
      v1::Skill* s = l.add_skills();
      s->set_name("billing");
      s->set_level(6);
    });
  if (!any_emergency)
    patch(2, [](v1::Login& l) {
      v1::Skill* s = l.add_skills();
      s->set_name("emergency");
      s->set_level(6);
    });
  if (!any_spanish) patch(0, [](v1::Login& l) { l.add_languages("es"); });
  // Voice needs at least one voice-capable agent; digital at least one too.
  auto serves = [](const v1::Login& l, v1::Channel ch) {
    return std::any_of(l.capacities().begin(), l.capacities().end(),
                       [ch](const v1::ChannelCapacity& c) { return c.channel() == ch; });
  };
  bool any_voice = false, any_digital = false;
  for (const AgentProfile& a : roster) {
    any_voice = any_voice || serves(a.login, v1::CHANNEL_VOICE);
    any_digital = any_digital || serves(a.login, v1::CHANNEL_CHAT);
  }
  if (!any_voice)
    patch(0, [](v1::Login& l) {
      v1::ChannelCapacity* cap = l.add_capacities();
      cap->set_channel(v1::CHANNEL_VOICE);
      cap->set_max_concurrent(1);
    });
  if (!any_digital)
    patch(0, [](v1::Login& l) {
      for (v1::Channel ch : {v1::CHANNEL_CHAT, v1::CHANNEL_EMAIL, v1::CHANNEL_MESSAGING}) {
        v1::ChannelCapacity* cap = l.add_capacities();
        cap->set_channel(ch);
        cap->set_max_concurrent(ch == v1::CHANNEL_EMAIL ? 5 : 3);
      }
    });
  return roster;
}

double DeskBehaviour::HandleSeconds(v1::Channel channel) {
  double mean_seconds = 20;
  switch (channel) {
    case v1::CHANNEL_CHAT:
      mean_seconds = 30;
      break;
    case v1::CHANNEL_EMAIL:
      mean_seconds = 15;
      break;
    case v1::CHANNEL_MESSAGING:
      mean_seconds = 25;
      break;
    default:
      mean_seconds = 20;
  }
  return std::max(1.0, std::exponential_distribution<double>(1 / mean_seconds)(rng_));
}

}  // namespace ccr::load
