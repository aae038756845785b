// JSON Lines helpers shared by the commands.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

namespace starattn::cli {

// Calls fn(record, 1-based line number) for each non-empty line. A malformed line is an Error
// naming the file and line, except a torn last line (no trailing newline) when
// allow_partial_last is true, which is skipped.
void ForEachJsonLine(const std::string& path, bool allow_partial_last,
                     const std::function<void(nlohmann::json, int64_t)>& fn);

// Cuts a file after its last newline (drops a line torn by a kill). No-op if it ends with one.
void TruncatePartialLastLine(const std::string& path);

// Parses args against desc (adding --help); prints usage + options and returns false on --help.
bool ParseCommandLine(const std::vector<std::string>& args,
                      boost::program_options::options_description& desc,
                      boost::program_options::variables_map& vm, const char* usage);

// Applies a command's --threads option: 0 keeps OpenMP's default (all cores), a positive count
// sets it, a negative one is an Error.
void ApplyThreadsOption(const boost::program_options::variables_map& vm);

}  // namespace starattn::cli
