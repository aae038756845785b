// Errors of the engine: exception types whose message is a single line naming the problem (and
// the file, where there is one). The CLI catches them, prints the line and exits with
//  - 2 for Error: bad input (a malformed file, a wrong flag, an impossible configuration, a model
//    or KV cache larger than the memory there is), the default for everything the engine rejects;
//  - 1 for RuntimeFailure: a failure at run time that the input did not cause (a failed write, an
//    allocation or device call that failed although the sizes were checked).
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

// A failure at run time, not caused by the input (exit code 1). Derives from Error so that code
// catching Error to add context still sees it.
class RuntimeFailure : public Error {
 public:
  using Error::Error;
};

// Throws Error with a formatted one-line message.
template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws RuntimeFailure with a formatted one-line message.
template <typename... Args>
[[noreturn]] void FailAtRuntime(fmt::format_string<Args...> format, Args&&... args) {
  throw RuntimeFailure(fmt::format(format, std::forward<Args>(args)...));
}

// `s` on one line, whole: "\n" and "\r" written as such, other control bytes as \xNN (for
// messages that quote file contents at any length).
std::string OneLine(std::string_view s);

// File-supplied text made safe for a one-line message: control bytes become \xNN, and text
// longer than max_chars is cut with "...".
std::string Printable(std::string_view s, size_t max_chars = 80);

// CHECK-style guard for conditions that depend on input data (never for programming errors).
#define STARATTN_REQUIRE(cond, ...)             \
  do {                                          \
    if (!(cond)) ::starattn::Fail(__VA_ARGS__); \
  } while (0)

}  // namespace starattn
