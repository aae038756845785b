#include "harness/lib/jsonl.h"

#include <omp.h>

#include <fstream>
#include <iostream>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace starattn::cli {

bool ForEachJsonLine(const std::string& path, bool allow_torn_last,
                     const std::function<void(nlohmann::json, int64_t)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot open", path);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const bool last_unterminated = in.eof();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // A torn last line is one that is not JSON at all; a line nested deeper than any record
    // needs is an error (the writers' dump() would recurse once per level).
    if (last_unterminated && allow_torn_last && !nlohmann::json::accept(line)) return true;
    fn(ParseJson(line, fmt::format("{}:{}", path, line_no), kMaxRecordDepth), line_no);
  }
  if (in.bad()) Fail("{}: read error", path);
  return false;
}

bool ParseCommandLine(const std::vector<std::string>& args,
                      boost::program_options::options_description& desc,
                      boost::program_options::variables_map& vm, const char* usage) {
  namespace po = boost::program_options;
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

std::vector<std::string> SplitList(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string::npos) comma = v.size();
      if (comma > pos) out.push_back(v.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  return out;
}

void ApplyThreadsOption(const boost::program_options::variables_map& vm) {
  const int threads = vm["threads"].as<int>();
  if (threads < 0) Fail("--threads must be >= 0, got {}", threads);
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace starattn::cli
