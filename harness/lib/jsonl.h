// JSON Lines reading and command-line helpers shared by the commands (prediction records:
// records.h).
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace starattn::cli {

// How deep a JSON line (a task sample, a prediction record) may nest: records nest 4 levels.
inline constexpr int kMaxRecordDepth = 64;

// Calls fn(value, 1-based line number) for each non-blank line. A line that is not JSON, or that
// nests deeper than kMaxRecordDepth, is an Error naming the file and line, except a torn last line
// (no trailing newline, not parseable: a write cut by a kill) when allow_torn_last is true, which
// is skipped; returns whether one was. A last line without its newline that parses is passed on
// like any other.
bool ForEachJsonLine(const std::string& path, bool allow_torn_last,
                     const std::function<void(nlohmann::json, int64_t)>& fn);

// Parses args against desc (adding --help); prints usage + options and returns false on --help.
bool ParseCommandLine(const std::vector<std::string>& args,
                      boost::program_options::options_description& desc,
                      boost::program_options::variables_map& vm, const char* usage);

// Values of a multi-token option, commas also separating ("a b,c" -> a, b, c).
std::vector<std::string> SplitList(const std::vector<std::string>& values);

// Applies a command's --threads option: 0 keeps OpenMP's default (all cores), a positive count
// sets it, a negative one is an Error.
void ApplyThreadsOption(const boost::program_options::variables_map& vm);

}  // namespace starattn::cli
