// UTF-8 over utf8proc: decoding, encoding, Python's whitespace, strip and lower-casing. The one
// place outside the tokenizer's byte-level internals that looks at UTF-8 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace starattn::utf8 {

// What Decode reports for a byte that does not start a valid sequence (it is not a code point).
inline constexpr uint32_t kInvalid = 0xFFFFFFFFu;

namespace internal {
size_t DecodeNonAscii(std::string_view s, size_t i, uint32_t* cp);
}  // namespace internal

// Decodes the character at s[i] (i < s.size()) with utf8proc_iterate, which rejects overlong
// forms, surrogates, values above U+10FFFF and sequences cut by the end of s. Returns its length
// in bytes; an invalid byte has length 1 and *cp = kInvalid. (Inline for ASCII: tokenizer loops
// call it per character.)
inline size_t Decode(std::string_view s, size_t i, uint32_t* cp) {
  const uint8_t b = static_cast<uint8_t>(s[i]);
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  return internal::DecodeNonAscii(s, i, cp);
}
// Appends the UTF-8 form of a code point (<= U+10FFFF) with utf8proc_encode_char.
void Append(uint32_t cp, std::string* out);

// Start of the character that ends at s[end) (0 < end <= s.size()): `end` stepped back over at
// most three continuation bytes. (utf8proc iterates forwards only; this is its missing reverse.)
size_t PrevStart(std::string_view s, size_t end);

// s without a cut last character: when the last character starts with a lead byte and does not
// decode (a multi-byte sequence cut short, e.g. at a byte-level token boundary), it is dropped.
// Stray continuation bytes are kept.
std::string_view WithoutCutLastChar(std::string_view s);

// Python's str.isspace() for one code point.
bool IsPyWhitespace(uint32_t cp);
// Python's str.strip() and str.rstrip(): Unicode whitespace removed (invalid bytes are kept).
std::string_view PyStrip(std::string_view s);
std::string_view PyRstrip(std::string_view s);
// Python's str.lower() with utf8proc's simple (one-to-one) case mapping; Python's full mapping
// differs only for U+0130 and the context-dependent final sigma. Invalid bytes are kept as they
// are.
std::string PyLower(std::string_view s);

}  // namespace starattn::utf8
