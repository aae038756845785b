// The checked number parsers: exact values, and one-line errors that name the field and quote the
// value for every class of bad text (garbage, trailing garbage, overflow, negative, out of range).
#include "engine/common/parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/testing.h"

namespace starattn {
namespace {

using nlohmann::json;

TEST(ParseIntTest, ReadsWholeDecimalIntegers) {
  EXPECT_EQ(ParseInt("0", "n"), 0);
  EXPECT_EQ(ParseInt("4096", "n"), 4096);
  EXPECT_EQ(ParseInt("-17", "n"), -17);
  EXPECT_EQ(ParseInt("9223372036854775807", "n"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt("-9223372036854775808", "n"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseInt("007", "n"), 7);
}

TEST(ParseIntTest, ErrorsNameTheFieldAndTheValue) {
  EXPECT_THAT([] { ParseInt("12x", "--samples"); },
              ::testing::ThrowsMessage<Error>("--samples: '12x' is not an integer"));
  EXPECT_THAT([] { ParseInt("", "--samples"); },
              ::testing::ThrowsMessage<Error>("--samples: empty value, expected an integer"));
  EXPECT_THAT([] { ParseInt(" 12", "seed"); },
              ::testing::ThrowsMessage<Error>("seed: ' 12' is not an integer"));
  EXPECT_THAT([] { ParseInt("12 ", "seed"); },
              ::testing::ThrowsMessage<Error>("seed: '12 ' is not an integer"));
  EXPECT_THAT([] { ParseInt("+12", "seed"); },
              ::testing::ThrowsMessage<Error>("seed: '+12' is not an integer"));
  EXPECT_THAT([] { ParseInt("-", "seed"); },
              ::testing::ThrowsMessage<Error>("seed: '-' is not an integer"));
  EXPECT_THAT([] { ParseInt("1.5", "seed"); },
              ::testing::ThrowsMessage<Error>("seed: '1.5' is not an integer"));
  EXPECT_THAT([] { ParseInt("99999999999999999999", "seed"); },
              ::testing::ThrowsMessage<Error>(
                  "seed: 99999999999999999999 is out of range [-9223372036854775808, "
                  "9223372036854775807]"));
  EXPECT_THAT([] { ParseInt("-3", "samples", 0); },
              ::testing::ThrowsMessage<Error>("samples: -3 must not be negative"));
  EXPECT_THAT(
      [] { ParseInt("-99999999999999999999", "samples", 0); },
      ::testing::ThrowsMessage<Error>("samples: -99999999999999999999 must not be negative"));
  EXPECT_THAT([] { ParseInt("0", "hosts", 1); },
              ::testing::ThrowsMessage<Error>("hosts: 0 must be positive"));
  EXPECT_THAT([] { ParseInt("65", "hosts", 1, 64); },
              ::testing::ThrowsMessage<Error>("hosts: 65 is out of range [1, 64]"));
  // Control bytes in the value stay on one line.
  EXPECT_THAT([] { ParseInt("1\n2", "n"); },
              ::testing::ThrowsMessage<Error>("n: '1\\x0a2' is not an integer"));
}

TEST(ParseSizeTest, ReadsCountsAndRejectsNegatives) {
  EXPECT_EQ(ParseSize("18446744073709551615", "bytes"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(ParseSize("12", "bytes", 12), 12u);
  EXPECT_THAT([] { ParseSize("-1", "bytes"); },
              ::testing::ThrowsMessage<Error>("bytes: -1 must not be negative"));
  EXPECT_THAT([] { ParseSize("18446744073709551616", "bytes"); },
              ::testing::ThrowsMessage<Error>(
                  "bytes: 18446744073709551616 is out of range [0, 18446744073709551615]"));
  EXPECT_THAT([] { ParseSize("13", "bytes", 12); },
              ::testing::ThrowsMessage<Error>("bytes: 13 is out of range [0, 12]"));
  EXPECT_THAT([] { ParseSize("1e3", "bytes"); },
              ::testing::ThrowsMessage<Error>("bytes: '1e3' is not a non-negative integer"));
}

TEST(ParseDoubleTest, ReadsFiniteDecimals) {
  EXPECT_DOUBLE_EQ(ParseDouble("0.5", "p"), 0.5);
  EXPECT_DOUBLE_EQ(ParseDouble("-1e-3", "p"), -1e-3);
  EXPECT_DOUBLE_EQ(ParseDouble("2", "p", 0, 2), 2.0);
  EXPECT_THAT([] { ParseDouble("nan", "--max-drop"); },
              ::testing::ThrowsMessage<Error>("--max-drop: 'nan' is not a number"));
  EXPECT_THAT([] { ParseDouble("inf", "--max-drop"); },
              ::testing::ThrowsMessage<Error>("--max-drop: 'inf' is not a number"));
  EXPECT_THAT([] { ParseDouble("0x10", "--max-drop"); },
              ::testing::ThrowsMessage<Error>("--max-drop: '0x10' is not a number"));
  EXPECT_THAT([] { ParseDouble("1.5%", "--max-drop"); },
              ::testing::ThrowsMessage<Error>("--max-drop: '1.5%' is not a number"));
  EXPECT_THAT([] { ParseDouble("1e999", "p"); },
              ::testing::ThrowsMessage<Error>("p: 1e999 is not representable as a double"));
  EXPECT_THAT([] { ParseDouble("3", "p", 0, 2); },
              ::testing::ThrowsMessage<Error>("p: 3 is out of range [0, 2]"));
}

TEST(ParseLengthTest, OneRulePerBenchmark) {
  EXPECT_EQ(ParseLength("4096", "lengths", LengthRule::kRuler), 4096);
  EXPECT_EQ(ParseLength("4k", "lengths", LengthRule::kRuler), 4096);
  EXPECT_EQ(ParseLength("128K", "lengths", LengthRule::kRuler), 131072);
  EXPECT_EQ(ParseLength("1M", "lengths", LengthRule::kRuler), 1048576);
  EXPECT_EQ(ParseLength("4096", "lengths", LengthRule::kBabilong), 4096);
  EXPECT_EQ(ParseLength("4k", "lengths", LengthRule::kBabilong), 4000);
  EXPECT_EQ(ParseLength("1M", "lengths", LengthRule::kBabilong), 1000000);
  EXPECT_EQ(ParseLength("0k", "lengths", LengthRule::kBabilong, 0), 0);
  EXPECT_EQ(LengthKilo(LengthRule::kRuler), 1024);
  EXPECT_EQ(LengthKilo(LengthRule::kBabilong), 1000);
}

TEST(ParseLengthTest, ErrorsSayTheRule) {
  for (const char* bad : {"", "k", "4kk", "-1k", "4.5k", "4 k", "1G", "k4", "0x10"}) {
    EXPECT_THAT([&] { ParseLength(bad, "--lengths", LengthRule::kRuler); },
                ::testing::ThrowsMessage<Error>(
                    fmt::format("--lengths: '{}' is not a length (a token count like 4096, or 4k = "
                                "4096 tokens)",
                                bad)))
        << bad;
  }
  EXPECT_THAT([] { ParseLength("4kk", "lengths", LengthRule::kBabilong); },
              ::testing::ThrowsMessage<Error>(
                  "lengths: '4kk' is not a length (a token count like 4096, or 4k = 4000 tokens)"));
  EXPECT_THAT(
      [] { ParseLength("9999999999999999k", "lengths", LengthRule::kRuler); },
      ::testing::ThrowsMessage<Error>(
          "lengths: 9999999999999999k is out of range [1, 1099511627776] tokens (k = 1024)"));
  EXPECT_THAT([] { ParseLength("99999999999999999999", "lengths", LengthRule::kRuler); },
              ::testing::ThrowsMessage<Error>(
                  "lengths: 99999999999999999999 is out of range [1, 1099511627776] tokens"));
  EXPECT_THAT(
      [] { ParseLength("0", "lengths", LengthRule::kRuler); },
      ::testing::ThrowsMessage<Error>("lengths: 0 is out of range [1, 1099511627776] tokens"));
}

TEST(JsonNumberTest, IntegersAreCheckedNotWrapped) {
  EXPECT_EQ(JsonInt(json(42), "n"), 42);
  EXPECT_EQ(JsonInt(json(-42), "n"), -42);
  EXPECT_EQ(JsonInt(json(uint64_t{9223372036854775807u}), "n"),
            std::numeric_limits<int64_t>::max());
  EXPECT_THAT([] { JsonInt(json(uint64_t{18446744073709551615u}), "id"); },
              ::testing::ThrowsMessage<Error>(
                  "id: 18446744073709551615 is out of range [-9223372036854775808, "
                  "9223372036854775807]"));
  EXPECT_THAT([] { JsonInt(json(uint64_t{1} << 32), "id", 0, (1 << 30) - 1); },
              ::testing::ThrowsMessage<Error>("id: 4294967296 is out of range [0, 1073741823]"));
  EXPECT_THAT([] { JsonInt(json(-1), "samples", 0); },
              ::testing::ThrowsMessage<Error>("samples: -1 must not be negative"));
  EXPECT_THAT([] { JsonInt(json(4096.5), "length"); },
              ::testing::ThrowsMessage<Error>("length: 4096.5 is not an integer"));
  EXPECT_THAT([] { JsonInt(json("4k"), "length"); },
              ::testing::ThrowsMessage<Error>("length: expected an integer, got string \"4k\""));
  EXPECT_THAT([] { JsonInt(json(nullptr), "length"); },
              ::testing::ThrowsMessage<Error>("length: expected an integer, got null"));
}

TEST(JsonNumberTest, DoublesAreFinite) {
  EXPECT_DOUBLE_EQ(JsonDouble(json(0.25), "p"), 0.25);
  EXPECT_DOUBLE_EQ(JsonDouble(json(3), "p"), 3.0);
  EXPECT_THAT([] { JsonDouble(json(true), "p"); },
              ::testing::ThrowsMessage<Error>("p: expected a number, got boolean true"));
  EXPECT_THAT([] { JsonDouble(json(5.0), "p", 0, 1); },
              ::testing::ThrowsMessage<Error>("p: 5.0 is out of range [0, 1]"));
}

TEST(JsonNumberTest, ParseJsonLimitsNesting) {
  EXPECT_EQ(ParseJson("{\"a\": [1, 2]}", "x.json")["a"][1], 2);
  EXPECT_THAT([] { ParseJson("{\"a\": ", "x.json"); },
              testing::ThrowsOneLineErrorAt("x.json: invalid JSON: "));
  EXPECT_THAT([] { ParseJson("[1,\n", "x.json"); }, testing::ThrowsOneLineError("x.json"));
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT([&] { ParseJson(deep, "pred.jsonl:3"); },
              ::testing::ThrowsMessage<Error>("pred.jsonl:3: JSON nested deeper than 64 levels"));
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_NO_THROW(ParseJson(ok, "x"));
  EXPECT_THAT([&] { ParseJson("[" + ok + "]", "x"); },
              ::testing::ThrowsMessage<Error>("x: JSON nested deeper than 64 levels"));
}

// Quoting a value in a message never recurses deeply (nlohmann's dump() overflows the stack on a
// value nested 100,000 deep; the parser and the destructor do not recurse).
TEST(JsonNumberTest, SnippetOfDeepNesting) {
  const std::string deep = std::string(100000, '[') + "7" + std::string(100000, ']');
  const json v = json::parse(deep);
  EXPECT_EQ(JsonSnippet(v), "[[[...]]]");
  EXPECT_THAT(
      [&] { JsonInt(v, "shape[0]"); },
      ::testing::ThrowsMessage<Error>("shape[0]: expected an integer, got array [[[...]]]"));
  EXPECT_EQ(JsonSnippet(json::parse("{\"a\": [1, \"x\"], \"b\": null}")),
            "{\"a\": [1, \"x\"], \"b\": null}");
  EXPECT_EQ(JsonSnippet(json(std::vector<int>(100, 1)), 20), "[1, 1, 1, 1, 1, 1, 1, 1, ...]");
}

TEST(CheckedArithmeticTest, OverflowIsAnErrorNamingTheQuantity) {
  EXPECT_EQ(CheckedMul<uint64_t>(1 << 20, 1 << 20, "bytes"), uint64_t{1} << 40);
  EXPECT_EQ(CheckedMul<int64_t>(-3, 4, "n"), -12);
  EXPECT_THAT([] { CheckedMul<uint64_t>(uint64_t{1} << 32, uint64_t{1} << 32, "KV bytes"); },
              ::testing::ThrowsMessage<Error>(
                  "KV bytes: 4294967296 x 4294967296 overflows an unsigned 64-bit integer"));
  EXPECT_THAT([] { CheckedMul<int64_t>(std::numeric_limits<int64_t>::min(), -1, "n"); },
              ::testing::ThrowsMessage<Error>(
                  "n: -9223372036854775808 x -1 overflows a signed 64-bit integer"));
  EXPECT_THAT(
      [] { CheckedAdd<int32_t>(2147483647, 1, "ids"); },
      ::testing::ThrowsMessage<Error>("ids: 2147483647 + 1 overflows a signed 32-bit integer"));
  EXPECT_EQ(CheckedAdd<uint64_t>(1, 2, "n"), 3u);
}

}  // namespace
}  // namespace starattn
