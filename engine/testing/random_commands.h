// RandomCommands: a stream of plausible journal commands (submits, logins,
// accepts and rejects of real offers, completes, wrap-ups, state changes,
// cancels, updates, restarts, reloads) for durability tests and the
// recovery benchmark. It learns which offers and contacts exist from the
// router's events, so most commands succeed.
//
//   RandomCommands gen(seed, start);
//   for (...) {
//     v1::Command cmd = gen.Next();          // stamped with gen.now()
//     ApplyCommand(router, cmd);
//     gen.Observe(router.TakeEvents());
//   }
#ifndef CCROUTER_ENGINE_TESTING_RANDOM_COMMANDS_H_
#define CCROUTER_ENGINE_TESTING_RANDOM_COMMANDS_H_

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ccrouter/v1/journal.pb.h"
#include "router/router.h"

namespace ccr::testing {

namespace v1 = ::ccrouter::v1;

struct RandomCommandOptions {
  int agents = 6;
  int customers = 8;
  absl::Duration max_step = absl::Seconds(6);  // time between commands: uniform [0, max_step)
  std::string config_yaml;                     // reloaded now and then; empty: never
  bool restarts = true;                        // EngineStarted now and then
};

class RandomCommands {
 public:
  RandomCommands(uint64_t seed, absl::Time start, RandomCommandOptions options = {});

  // The next command, with its time set. Advances the clock first.
  v1::Command Next();
  // Feeds back what the router did with the last command.
  void Observe(const std::vector<Event>& events);
  absl::Time now() const { return now_; }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool Fill(v1::Command& cmd);

  std::mt19937_64 rng_;
  RandomCommandOptions options_;
  absl::Time now_;
  uint64_t keys_ = 0;
  std::map<uint64_t, std::string> offers_;  // offer -> agent
  std::map<ContactId, std::string> connected_, wrapping_;
  std::vector<ContactId> submitted_;
};

}  // namespace ccr::testing

#endif  // CCROUTER_ENGINE_TESTING_RANDOM_COMMANDS_H_
