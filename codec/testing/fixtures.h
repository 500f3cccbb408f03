// What tests of the codec and of the engine's apply step both start from:
// a fixed instant, the embedded default config, and a submit that passes
// validation.
#ifndef CCROUTER_CODEC_TESTING_FIXTURES_H_
#define CCROUTER_CODEC_TESTING_FIXTURES_H_

#include "absl/time/time.h"
#include "ccrouter/v1/types.pb.h"
#include "codec/config_loader.h"
#include "gtest/gtest.h"
#include "router/router.h"

namespace ccr::testing {

namespace v1 = ::ccrouter::v1;

inline const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

inline RouterConfig DefaultConfig() {
  absl::StatusOr<RouterConfig> c = LoadRouterConfig(DefaultConfigYaml());
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

inline v1::ContactSpec ValidContact() {
  v1::ContactSpec c;
  c.set_idempotency_key("gw-1");
  c.set_channel(v1::CHANNEL_VOICE);
  c.mutable_customer()->set_id("customer-1234");
  c.mutable_customer()->set_tier(v1::TIER_GOLD);
  return c;
}

}  // namespace ccr::testing

#endif  // CCROUTER_CODEC_TESTING_FIXTURES_H_
