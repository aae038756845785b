// Errors of the engine: one exception type whose message is a single line naming the problem
// (and the file, where there is one). The CLI catches it, prints it and exits non-zero.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace starattn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error with a formatted one-line message.
template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// File-supplied text made safe for a one-line message: control bytes become \xNN, and text
// longer than max_chars is cut with "...".
std::string Printable(std::string_view s, size_t max_chars = 80);

// CHECK-style guard for conditions that depend on input data (never for programming errors).
#define STARATTN_REQUIRE(cond, ...)      \
  do {                                   \
    if (!(cond)) ::starattn::Fail(__VA_ARGS__); \
  } while (0)

}  // namespace starattn
