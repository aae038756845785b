#include "engine/common/utf8.h"

#include <utf8proc.h>

namespace starattn::utf8 {

size_t internal::DecodeNonAscii(std::string_view s, size_t i, uint32_t* cp) {
  utf8proc_int32_t c = -1;
  const utf8proc_ssize_t n =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                       static_cast<utf8proc_ssize_t>(s.size() - i), &c);
  if (n <= 0) {
    *cp = kInvalid;
    return 1;
  }
  *cp = static_cast<uint32_t>(c);
  return static_cast<size_t>(n);
}

void Append(uint32_t cp, std::string* out) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

size_t PrevStart(std::string_view s, size_t end) {
  size_t p = end - 1;
  while (p > 0 && end - p < 4 && (static_cast<uint8_t>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

std::string_view WithoutCutLastChar(std::string_view s) {
  if (s.empty()) return s;
  const size_t p = PrevStart(s, s.size());
  uint32_t cp;
  Decode(s, p, &cp);
  // A last character that starts with a lead byte (not a stray continuation byte) and does not
  // decode.
  const bool cut = cp == kInvalid && (static_cast<uint8_t>(s[p]) & 0xC0) != 0x80;
  return cut ? s.substr(0, p) : s;
}

bool IsPyWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string_view PyRstrip(std::string_view s) {
  size_t e = s.size();
  while (e > 0) {
    const size_t p = PrevStart(s, e);
    uint32_t cp;
    if (p + Decode(s, p, &cp) != e || !IsPyWhitespace(cp)) break;
    e = p;
  }
  return s.substr(0, e);
}

std::string_view PyStrip(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    uint32_t cp;
    const size_t n = Decode(s, b, &cp);
    if (!IsPyWhitespace(cp)) break;
    b += n;
  }
  return PyRstrip(s.substr(b));
}

std::string PyLower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {  // ASCII fast path
      out += static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b);
      ++i;
      continue;
    }
    uint32_t cp;
    const size_t n = Decode(s, i, &cp);
    if (cp == kInvalid) {
      out += s[i];
    } else {
      Append(static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), &out);
    }
    i += n;
  }
  return out;
}

}  // namespace starattn::utf8
