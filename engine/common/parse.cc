#include "engine/common/parse.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <system_error>

#include "engine/common/error.h"

namespace starattn {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "string \"4k\"", "boolean true", "null": a JSON value's type and text for messages.
std::string Describe(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  return fmt::format("{} {}", v.type_name(), JsonSnippet(v, 40));
}

void AppendSnippet(const nlohmann::json& v, size_t max_chars, int depth, std::string* out) {
  if (v.is_array() || v.is_object()) {
    const bool array = v.is_array();
    *out += array ? '[' : '{';
    if (depth >= 2 && !v.empty()) {
      *out += "...";
    } else {
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (out->size() > max_chars) {
          *out += ", ...";
          break;
        }
        if (!first) *out += ", ";
        first = false;
        if (!array) {
          *out += nlohmann::json(it.key()).dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace) +
                  ": ";
        }
        AppendSnippet(*it, max_chars, depth + 1, out);
      }
    }
    *out += array ? ']' : '}';
    return;
  }
  std::string d = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (d.size() > max_chars) d = d.substr(0, max_chars) + "...";
  *out += d;
}

// "[min, max]", or the shorter "must not be negative" / "must be positive" forms.
[[noreturn]] void FailRange(std::string_view field, std::string_view value, int64_t min,
                            int64_t max) {
  if (min == 0 && max == std::numeric_limits<int64_t>::max() && !value.empty() && value[0] == '-') {
    Fail("{}: {} must not be negative", field, Printable(value, 40));
  }
  if (min == 1 && max == std::numeric_limits<int64_t>::max() && !value.empty() &&
      (value[0] == '-' || value == "0")) {
    Fail("{}: {} must be positive", field, Printable(value, 40));
  }
  Fail("{}: {} is out of range [{}, {}]", field, Printable(value, 40), min, max);
}

// Parses text as a whole decimal integer into *out. Returns false (leaving *out) when the text is
// not one; sets *overflow when it is digits but too large for int64.
bool FromDecimal(std::string_view text, int64_t* out, bool* overflow) {
  *overflow = false;
  const size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == sign) return false;
  for (size_t i = sign; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return false;
  }
  int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    *overflow = true;
    return false;
  }
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return false;
  *out = v;
  return true;
}

}  // namespace

int64_t ParseInt(std::string_view text, std::string_view field, int64_t min, int64_t max) {
  if (text.empty()) Fail("{}: empty value, expected an integer", field);
  int64_t v = 0;
  bool overflow = false;
  if (!FromDecimal(text, &v, &overflow)) {
    if (overflow) FailRange(field, text, min, max);
    Fail("{}: '{}' is not an integer", field, Printable(text, 40));
  }
  if (v < min || v > max) FailRange(field, text, min, max);
  return v;
}

uint64_t ParseSize(std::string_view text, std::string_view field, uint64_t max) {
  if (text.empty()) Fail("{}: empty value, expected a non-negative integer", field);
  const bool digits = std::all_of(text.begin(), text.end(), IsDigit);
  if (!digits) {
    if (text[0] == '-' && text.size() > 1 && std::all_of(text.begin() + 1, text.end(), IsDigit)) {
      Fail("{}: {} must not be negative", field, Printable(text, 40));
    }
    Fail("{}: '{}' is not a non-negative integer", field, Printable(text, 40));
  }
  uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && v > max)) {
    Fail("{}: {} is out of range [0, {}]", field, Printable(text, 40), max);
  }
  return v;
}

double ParseDouble(std::string_view text, std::string_view field, double min, double max) {
  if (text.empty()) Fail("{}: empty value, expected a number", field);
  // from_chars also reads "inf", "nan" and hex floats: only plain decimal forms are numbers here.
  for (const char c : text) {
    if (!IsDigit(c) && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E') {
      Fail("{}: '{}' is not a number", field, Printable(text, 40));
    }
  }
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    Fail("{}: {} is not representable as a double", field, Printable(text, 40));
  }
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    Fail("{}: '{}' is not a number", field, Printable(text, 40));
  }
  if (!std::isfinite(v) || v < min || v > max) {
    Fail("{}: {} is out of range [{}, {}]", field, Printable(text, 40), min, max);
  }
  return v;
}

int64_t LengthKilo(LengthRule rule) { return rule == LengthRule::kRuler ? 1024 : 1000; }

int64_t ParseLength(std::string_view text, std::string_view field, LengthRule rule, int64_t min,
                    int64_t max) {
  const int64_t k = LengthKilo(rule);
  auto bad = [&]() {
    Fail("{}: '{}' is not a length (a token count like 4096, or {}k = {} tokens)", field,
         Printable(text, 40), 4, 4 * k);
  };
  if (text.empty()) bad();
  int64_t mult = 1;
  std::string_view digits = text;
  const char last = text.back();
  if (last == 'k' || last == 'K') {
    mult = k;
    digits.remove_suffix(1);
  } else if (last == 'M' || last == 'm') {
    mult = k * k;
    digits.remove_suffix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsDigit)) bad();
  int64_t n = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  int64_t tokens = 0;
  if (r.ec != std::errc() || __builtin_mul_overflow(n, mult, &tokens) || tokens > max ||
      tokens < min) {
    Fail("{}: {} is out of range [{}, {}] tokens{}", field, Printable(text, 40), min, max,
         mult == 1 ? "" : fmt::format(" (k = {})", k));
  }
  return tokens;
}

int64_t JsonInt(const nlohmann::json& v, std::string_view field, int64_t min, int64_t max) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) FailRange(field, std::to_string(u), min, max);
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < min || i > max) FailRange(field, std::to_string(i), min, max);
    return i;
  }
  if (v.is_number_float()) Fail("{}: {} is not an integer", field, JsonSnippet(v, 40));
  Fail("{}: expected an integer, got {}", field, Describe(v));
}

double JsonDouble(const nlohmann::json& v, std::string_view field, double min, double max) {
  if (!v.is_number()) {
    Fail("{}: expected a number, got {}", field, Describe(v));
  }
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    Fail("{}: {} is out of range [{}, {}]", field, JsonSnippet(v, 40), min, max);
  }
  return d;
}

nlohmann::json ParseJson(std::string_view text, std::string_view what, int max_depth) {
  using Event = nlohmann::json::parse_event_t;
  // `depth` of a start event counts the arrays and objects around the one that starts.
  const nlohmann::json::parser_callback_t limit = [&](int depth, Event event, nlohmann::json&) {
    if ((event == Event::array_start || event == Event::object_start) && depth >= max_depth) {
      Fail("{}: JSON nested deeper than {} levels", what, max_depth);
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit);
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: invalid JSON: {}", what, OneLine(e.what()));
  }
}

std::string JsonSnippet(const nlohmann::json& v, size_t max_chars) {
  std::string out;
  AppendSnippet(v, max_chars, 0, &out);
  return Printable(out, 2 * max_chars + 16);
}

void FailOverflow(std::string_view what, char op, const std::string& a, const std::string& b,
                  int bits, bool is_signed) {
  Fail("{}: {} {} {} overflows {} {}-bit integer", what, a, op, b,
       is_signed ? "a signed" : "an unsigned", bits);
}

}  // namespace starattn
