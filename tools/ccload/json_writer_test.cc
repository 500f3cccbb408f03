#include "tools/ccload/json_writer.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace ccr::load {
namespace {

TEST(JsonWriterTest, CommasGoBetweenElementsAtEveryLevel) {
  JsonWriter json;
  json.BeginObject();
  json.Key("a").Number(1);
  json.Key("b").BeginArray().Number(2).BeginObject().EndObject().BeginArray().EndArray().EndArray();
  json.Key("c").BeginObject().Key("d").Bool(true).Key("e").Null().EndObject();
  json.EndObject();
  EXPECT_EQ(json.Take(), R"({"a":1,"b":[2,{},[]],"c":{"d":true,"e":null}})");
}

TEST(JsonWriterTest, StringsAndKeysAreEscaped) {
  JsonWriter json;
  json.BeginObject().Key("say \"hi\"").String("back\\slash\nline\ttab\x01").EndObject();
  EXPECT_EQ(json.Take(), R"({"say \"hi\"":"back\\slash\nline\u0009tab\u0001"})");
}

TEST(JsonWriterTest, NumbersKeepTheirFormatAndNonFiniteIsNull) {
  JsonWriter json;
  json.BeginArray()
      .Number(uint64_t{18446744073709551615u})
      .Number(int64_t{-3})
      .Number(2.0284312)
      .Fixed(1234.56, 1)
      .Number(std::numeric_limits<double>::quiet_NaN())
      .Fixed(std::numeric_limits<double>::infinity(), 1)
      .EndArray();
  EXPECT_EQ(json.Take(), "[18446744073709551615,-3,2.02843,1234.6,null,null]");
}

TEST(JsonWriterTest, TakeStartsOver) {
  JsonWriter json;
  json.BeginArray().Number(1).EndArray();
  EXPECT_EQ(json.Take(), "[1]");
  json.BeginArray().Number(2).EndArray();
  EXPECT_EQ(json.Take(), "[2]");
}

}  // namespace
}  // namespace ccr::load
