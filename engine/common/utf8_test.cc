#include "engine/common/utf8.h"

#include <gtest/gtest.h>

namespace starattn::utf8 {
namespace {

TEST(Utf8, DecodeValidAndInvalid) {
  uint32_t cp = 0;
  EXPECT_EQ(Decode("a", 0, &cp), 1u);
  EXPECT_EQ(cp, 'a');
  EXPECT_EQ(Decode("x\xc3\xa9", 1, &cp), 2u);  // é
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(Decode("\xf0\x9f\x98\x80", 0, &cp), 4u);  // U+1F600
  EXPECT_EQ(cp, 0x1F600u);
  // Each invalid form is one byte, kInvalid: a lone continuation byte, an overlong "/", a
  // surrogate, a value above U+10FFFF, a sequence cut by the end.
  for (const std::string_view bad :
       {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    EXPECT_EQ(Decode(bad, 0, &cp), 1u) << bad;
    EXPECT_EQ(cp, kInvalid) << bad;
  }
}

TEST(Utf8, AppendRoundTrips) {
  for (const uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u, 0x10FFFFu}) {
    std::string s;
    Append(cp, &s);
    uint32_t back = 0;
    EXPECT_EQ(Decode(s, 0, &back), s.size());
    EXPECT_EQ(back, cp);
  }
}

TEST(Utf8, PrevStartAndCutLastChar) {
  const std::string s = "a\xe2\x82\xac";  // a€
  EXPECT_EQ(PrevStart(s, s.size()), 1u);
  EXPECT_EQ(PrevStart(s, 1), 0u);
  EXPECT_EQ(WithoutCutLastChar(s), s);
  EXPECT_EQ(WithoutCutLastChar("a\xe2\x82"), "a");  // € cut after two of its three bytes
  EXPECT_EQ(WithoutCutLastChar("a\xe2"), "a");
  EXPECT_EQ(WithoutCutLastChar(""), "");
  EXPECT_EQ(WithoutCutLastChar("abc"), "abc");
  EXPECT_EQ(WithoutCutLastChar("\xe2\x82"), "");
  EXPECT_EQ(WithoutCutLastChar("a\x80"), "a\x80");  // a stray continuation byte is no cut char
  EXPECT_EQ(WithoutCutLastChar("\xc3\xa9\x80"), "\xc3\xa9\x80");
}

TEST(Utf8, PyStripUsesUnicodeWhitespace) {
  EXPECT_EQ(PyStrip("  a b \n\t"), "a b");
  EXPECT_EQ(PyStrip("\x1c\x1f x \x0b\x0c"), "x");
  EXPECT_EQ(PyStrip("\xc2\xa0x\xe2\x80\x83"), "x");  // U+00A0, U+2003
  EXPECT_EQ(PyStrip("\x01x\x01"), "\x01x\x01");      // control characters are not whitespace
  EXPECT_EQ(PyStrip(""), "");
  EXPECT_EQ(PyStrip(" \n "), "");
  EXPECT_EQ(PyStrip(" \x80 "), "\x80");  // an invalid byte is not whitespace
  EXPECT_EQ(PyRstrip(" a \n"), " a");
}

TEST(Utf8, PyLowerIsUnicodeAware) {
  EXPECT_EQ(PyLower("ABC-def 12"), "abc-def 12");
  EXPECT_EQ(PyLower("\xc3\x89T\xc3\x89"), "\xc3\xa9t\xc3\xa9");  // ÉTÉ -> été
  EXPECT_EQ(PyLower("\xce\x91\xce\x92"), "\xce\xb1\xce\xb2");    // ΑΒ -> αβ
  EXPECT_EQ(PyLower("a\xff"
                    "B"),
            "a\xff"
            "b");  // invalid byte kept
}

}  // namespace
}  // namespace starattn::utf8
