// The tables of `starattn simulate`: every method at every context length, rendered as
// Markdown (inputs echoed, the paper's Table 1 layout, time per phase and memory per device) and
// as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/lib/simulate.h"

namespace starattn::sim {

// A size given as tokens ("32768", "32k"), as a fraction of the context ("L/4"), or (anchors)
// as "block" (the block size) or 0 (no anchor).
struct SizeSpec {
  int64_t tokens = 0;
  int64_t div = 0;  // L / div when > 0
  bool same_as_block = false;
  int64_t At(int64_t context, int64_t block) const;
  std::string Text() const;
};

// "16384", "16k", "16K" (x 1024), "1m"/"1M" (x 1048576). Throws Error naming `option` otherwise.
int64_t ParseTokens(const std::string& text, const std::string& option);
// Tokens, "L/k" (k >= 1), and when allow_block "block". Throws Error naming `option`.
SizeSpec ParseSize(const std::string& text, const std::string& option, bool allow_block);

struct Request {
  ModelShape model;
  std::string model_source;  // builtin name, or the file it was read from
  Hardware hardware;
  std::vector<int64_t> lengths;
  Deployment star, ring, dense;
  SizeSpec block, anchor;
  int64_t query_tokens = 0;
  int64_t decode_tokens = 0;
};

struct Row {
  Workload workload;
  Result dense, ring_naive, ring_zigzag, star;
};

// Checks every scenario first (an Error names the first impossible one), then simulates.
std::vector<Row> RunRequest(const Request& req);

std::string RenderMarkdown(const Request& req, const std::vector<Row>& rows);
nlohmann::json ToJson(const Request& req, const std::vector<Row>& rows);

}  // namespace starattn::sim
