#include "harness/lib/jsonl.h"

#include <omp.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/common/error.h"

namespace starattn::cli {

void ForEachJsonLine(const std::string& path, bool allow_partial_last,
                     const std::function<void(nlohmann::json, int64_t)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot open", path);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const bool torn = in.eof();  // no newline after this line
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      if (torn && allow_partial_last) return;
      Fail("{}:{}: invalid JSON: {}", path, line_no, e.what());
    }
    if (torn && allow_partial_last) return;  // complete JSON but no newline: not committed
    fn(std::move(j), line_no);
  }
}

void TruncatePartialLastLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty() || bytes.back() == '\n') return;
  const size_t keep = bytes.rfind('\n') == std::string::npos ? 0 : bytes.rfind('\n') + 1;
  std::filesystem::resize_file(path, keep);
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

void ApplyThreadsOption(const boost::program_options::variables_map& vm) {
  const int threads = vm["threads"].as<int>();
  if (threads < 0) Fail("--threads must be >= 0, got {}", threads);
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace starattn::cli
