// Checked numbers from text: every number a user or a file supplies (command-line values, config
// and JSONL fields, length labels) goes through these, so that overflow, a negative value where
// none is allowed and trailing garbage are one-line Errors naming the field and quoting the value,
// never a wrapped number or an exception from std::stoll.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace starattn {

// A decimal integer in [min, max]: an optional '-' and digits, nothing else (no spaces, no '+',
// no suffix). Errors: "<field>: '12x' is not an integer", "<field>: 99999999999999999999 is out
// of range [0, 9223372036854775807]", "<field>: -3 must not be negative".
int64_t ParseInt(std::string_view text, std::string_view field,
                 int64_t min = std::numeric_limits<int64_t>::min(),
                 int64_t max = std::numeric_limits<int64_t>::max());

// A count or size: a decimal integer in [0, max].
uint64_t ParseSize(std::string_view text, std::string_view field,
                   uint64_t max = std::numeric_limits<uint64_t>::max());

// A finite decimal floating-point number in [min, max] ("0.5", "-1e-3"; no "nan", "inf", hex,
// spaces or suffix).
double ParseDouble(std::string_view text, std::string_view field,
                   double min = -std::numeric_limits<double>::max(),
                   double max = std::numeric_limits<double>::max());

// What the suffixes of a token length mean. One rule per benchmark:
//  - kRuler (binary): "4k" = 4 x 1024 = 4096 tokens, "1M" = 1024 x 1024. RULER's lengths are token
//    counts (4096 ... 131072, NVIDIA/RULER scripts/config_models.sh) that its tables label 4K ...
//    128K.
//  - kBabilong (decimal): "4k" = 4 x 1000 = 4000 tokens, "1M" = 1000000. BABILong's split names
//    0k 1k 2k 4k ... 512k 1M are message lengths of 0, 1000, 2000, 4000 ... 1000000 tokens
//    (booydar/babilong data/create_tasks.py).
// A plain number is a token count under both rules.
enum class LengthRule { kRuler, kBabilong };

// A token length: digits with an optional suffix k/K or M/m (see LengthRule), in [min, max]
// tokens. Errors name the field and the rule: "--lengths: '4kk' is not a length (a token count
// like 4096, or 4k = 4096 tokens)".
int64_t ParseLength(std::string_view text, std::string_view field, LengthRule rule, int64_t min = 1,
                    int64_t max = int64_t{1} << 40);

// The multiplier of the "k" suffix under `rule` (1024 or 1000).
int64_t LengthKilo(LengthRule rule);

// JSON numbers from configs and records, checked the same way (nlohmann's get<int64_t>() wraps
// large unsigned values and truncates fractions silently). `field` names the value in errors.
int64_t JsonInt(const nlohmann::json& v, std::string_view field,
                int64_t min = std::numeric_limits<int64_t>::min(),
                int64_t max = std::numeric_limits<int64_t>::max());
double JsonDouble(const nlohmann::json& v, std::string_view field,
                  double min = -std::numeric_limits<double>::max(),
                  double max = std::numeric_limits<double>::max());

// Parses JSON text from a file or a record: an Error "<what>: invalid JSON: ..." (one line) for
// malformed text, and "<what>: JSON nested deeper than <max_depth> levels" for deep nesting, which
// nothing here needs and which would overflow the stack of the recursive code that handles values
// later (nlohmann's dump() recurses once per level: a record nested 100,000 deep, echoed into an
// output file, crashes the writer).
nlohmann::json ParseJson(std::string_view text, std::string_view what, int max_depth = 64);

// A JSON value quoted for an error message, at most about max_chars long, without recursing
// into deep nesting (nlohmann's dump() recurses once per level: a file nested 100,000 deep would
// overflow the stack in the message of its own error).
std::string JsonSnippet(const nlohmann::json& v, size_t max_chars = 60);

// Checked arithmetic on sizes and counts: an Error naming `what` instead of a wrapped value,
// e.g. "KV cache bytes: 4294967296 x 4294967296 overflows an unsigned 64-bit integer".
[[noreturn]] void FailOverflow(std::string_view what, char op, const std::string& a,
                               const std::string& b, int bits, bool is_signed);

template <typename T>
T CheckedMul(T a, T b, std::string_view what) {
  static_assert(std::is_integral_v<T>);
  T r;
  if (__builtin_mul_overflow(a, b, &r)) {
    FailOverflow(what, 'x', std::to_string(a), std::to_string(b), 8 * sizeof(T),
                 std::is_signed_v<T>);
  }
  return r;
}

template <typename T>
T CheckedAdd(T a, T b, std::string_view what) {
  static_assert(std::is_integral_v<T>);
  T r;
  if (__builtin_add_overflow(a, b, &r)) {
    FailOverflow(what, '+', std::to_string(a), std::to_string(b), 8 * sizeof(T),
                 std::is_signed_v<T>);
  }
  return r;
}

}  // namespace starattn
