// How the CLI reports an exception: one line and an exit code.
//   2  bad input: starattn::Error (malformed file, wrong flag, impossible configuration, a model or
//      KV cache larger than the memory there is), command-line errors, JSON errors, filesystem
//      errors about the user's paths (missing or unwritable directory, not a directory, ...),
//      std::invalid_argument / std::out_of_range / std::length_error (numbers and sizes from input)
//   1  failure at run time: starattn::RuntimeFailure, out of memory, disk full or I/O errors,
//      any other exception.
#pragma once

#include <exception>
#include <string>

namespace starattn::cli {

constexpr int kExitBadInput = 2;
constexpr int kExitFailure = 1;

struct ExitStatus {
  int code = kExitFailure;
  std::string message;  // one line, no trailing newline
};

// Classifies `e` (an exception caught by main) and words its message.
ExitStatus DescribeException(const std::exception_ptr& e);

// `s` on one line: newlines and other control bytes escaped.
std::string OneLine(const std::string& s);

}  // namespace starattn::cli
