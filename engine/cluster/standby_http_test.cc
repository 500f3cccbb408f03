#include "engine/cluster/standby_http.h"

#include <gtest/gtest.h>

#include <string>

namespace ccr::cluster {
namespace {

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return "";
}

HttpRequest Request(std::string method, std::string path, std::string query = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.query = std::move(query);
  return request;
}

const OwnerAddresses kOwner{"127.0.0.9:7700", "127.0.0.9:7701"};

TEST(StandbyHttpTest, TheApiIsRedirectedToTheOwnersHttpAddressKeepingPathAndQuery) {
  const HttpResponse r =
      StandbyHttpAnswer(Request("POST", "/v1/contacts", "view=full&x=%20"), kOwner);
  EXPECT_EQ(r.status, 307);  // keeps the method and the body
  EXPECT_EQ(Header(r, "Location"), "http://127.0.0.9:7701/v1/contacts?view=full&x=%20");
  EXPECT_EQ(Header(r, "ccrouter-owner"), "127.0.0.9:7700");
  EXPECT_EQ(Header(r, kOwnerHttpHeader), "127.0.0.9:7701");
  // A client that does not follow redirects reads the JSON error.
  EXPECT_NE(r.content_type.find("application/json"), std::string::npos);
  EXPECT_NE(r.body.find("UNAVAILABLE"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("http://127.0.0.9:7701"), std::string::npos) << r.body;
}

TEST(StandbyHttpTest, PagesAreRedirectedToo) {
  const HttpResponse r = StandbyHttpAnswer(Request("GET", "/wallboard"), kOwner);
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(Header(r, "Location"), "http://127.0.0.9:7701/wallboard");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
}

TEST(StandbyHttpTest, ReadyzStaysNotReadyAndNamesTheOwner) {
  const HttpResponse r = StandbyHttpAnswer(Request("GET", "/readyz"), kOwner);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Location"), "");
  EXPECT_EQ(Header(r, kOwnerHttpHeader), "127.0.0.9:7701");
}

TEST(StandbyHttpTest, WithoutAnOwnerTheClientIsToldToRetry) {
  const HttpResponse r = StandbyHttpAnswer(Request("POST", "/v1/contacts"), {});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Retry-After"), "1");
  EXPECT_EQ(Header(r, "Location"), "");
  EXPECT_EQ(Header(r, "ccrouter-owner"), "");
  EXPECT_NE(r.body.find("no owner elected yet"), std::string::npos) << r.body;
}

TEST(StandbyHttpTest, AnOwnerWithoutAnHttpAddressIsNamedByItsGrpcAddressOnly) {
  const HttpResponse r = StandbyHttpAnswer(Request("GET", "/v1/queues"), {"127.0.0.9:7700", ""});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Location"), "");
  EXPECT_EQ(Header(r, "ccrouter-owner"), "127.0.0.9:7700");
  EXPECT_EQ(Header(r, kOwnerHttpHeader), "");
  EXPECT_NE(r.body.find("127.0.0.9:7700 (gRPC)"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace ccr::cluster
