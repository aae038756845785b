#include "harness/lib/exit_status.h"

#include <fmt/format.h>

#include <boost/program_options/errors.hpp>
#include <cerrno>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "engine/common/error.h"

namespace starattn::cli {
namespace {

// Errors of the machine rather than of the paths the user gave.
bool IsResourceFailure(const std::error_code& ec) {
  if (ec.category() != std::generic_category() && ec.category() != std::system_category()) {
    return false;
  }
  switch (ec.value()) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

bool IsStdNumberConversion(std::string_view what) {
  for (const char* f : {"stoi", "stol", "stoll", "stoul", "stoull", "stof", "stod", "stold"}) {
    if (what == f) return true;
  }
  return false;
}

std::string StripPrefix(std::string_view s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) == prefix) s.remove_prefix(prefix.size());
  return std::string(s);
}

}  // namespace

std::string OneLine(const std::string& s) {
  std::string out = starattn::OneLine(s);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

ExitStatus DescribeException(const std::exception_ptr& e) {
  ExitStatus s;
  try {
    std::rethrow_exception(e);
  } catch (const RuntimeFailure& x) {
    s = {kExitFailure, x.what()};
  } catch (const Error& x) {
    s = {kExitBadInput, x.what()};
  } catch (const boost::program_options::error& x) {
    s = {kExitBadInput, fmt::format("{} (see --help)", x.what())};
  } catch (const nlohmann::json::exception& x) {
    s = {kExitBadInput, x.what()};
  } catch (const std::filesystem::filesystem_error& x) {
    // "cannot create directories: Not a directory [/tmp/out/x]"
    s = {IsResourceFailure(x.code()) ? kExitFailure : kExitBadInput,
         StripPrefix(x.what(), "filesystem error: ")};
  } catch (const std::system_error& x) {
    s = {kExitFailure, x.what()};
  } catch (const std::bad_alloc&) {
    s = {kExitFailure, "out of memory"};
  } catch (const std::invalid_argument& x) {
    s = {kExitBadInput, IsStdNumberConversion(x.what())
                            ? fmt::format("a number in the input is not a number ({})", x.what())
                            : std::string(x.what())};
  } catch (const std::out_of_range& x) {
    s = {kExitBadInput, IsStdNumberConversion(x.what())
                            ? fmt::format("a number in the input is out of range ({})", x.what())
                            : std::string(x.what())};
  } catch (const std::length_error& x) {
    s = {kExitBadInput, fmt::format("a size in the input is too large ({})", x.what())};
  } catch (const std::exception& x) {
    s = {kExitFailure, x.what()};
  } catch (...) {
    s = {kExitFailure, "unknown exception"};
  }
  s.message = OneLine(s.message);
  if (s.message.empty()) s.message = "unknown error";
  return s;
}

}  // namespace starattn::cli
