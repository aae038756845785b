// Variable tracking (scripts/data/synthetic/variable_tracking.py of the reference).
#include <algorithm>
#include <string>

#include "engine/common/error.h"
#include "ruler/generators.h"
#include "ruler/rng.h"
#include "ruler/text.h"

namespace starattn::ruler::internal {
namespace {

// The reference sizes its in-context example to 500 tokens, in steps of 5 noise sentences.
constexpr int64_t kExampleLength = 500;
constexpr int64_t kExampleStep = 5;

struct Chains {
  std::vector<std::vector<std::string>> names;  // per chain: num_hops + 1 variable names
  std::vector<std::vector<std::string>> lines;  // per chain: its assignment lines
  std::string value;                            // the value of chain 0
};

// num_chains chains of num_hops + 1 distinct variables of name_len uppercase letters:
// "VAR A = 12345", then "VAR B = VAR A ", ...
Chains MakeChains(int num_chains, int num_hops, int name_len, Rng& rng) {
  Chains c;
  std::vector<std::string> all;
  while (static_cast<int>(all.size()) < num_chains * (num_hops + 1)) {
    std::string v = rng.Letters(name_len, /*upper=*/true);
    if (std::find(all.begin(), all.end(), v) == all.end()) all.push_back(std::move(v));
  }
  for (int ch = 0; ch < num_chains; ++ch) {
    std::vector<std::string> names(all.begin() + ch * (num_hops + 1),
                                   all.begin() + (ch + 1) * (num_hops + 1));
    // np.random.randint(10000, 99999): 5 digits, the high end excluded.
    const std::string value = std::to_string(rng.Range(10000, 99998));
    if (ch == 0) c.value = value;
    std::vector<std::string> lines = {"VAR " + names[0] + " = " + value};
    for (int j = 0; j < num_hops; ++j)
      lines.push_back("VAR " + names[j + 1] + " = VAR " + names[j] + " ");
    c.names.push_back(std::move(names));
    c.lines.push_back(std::move(lines));
  }
  return c;
}

// n noise sentences (each ending "\n") with the chain lines inserted at random sorted positions,
// joined with " ".
std::string Context(int64_t n, const Chains& chains, Rng& rng) {
  std::vector<std::string_view> units(static_cast<size_t>(n));
  static const std::string kUnit = std::string(kNoise) + "\n";
  std::fill(units.begin(), units.end(), std::string_view(kUnit));
  for (const auto& chain : chains.lines) {
    std::vector<int64_t> pos =
        rng.SampleDistinct(static_cast<int64_t>(units.size()), static_cast<int64_t>(chain.size()));
    std::sort(pos.begin(), pos.end());
    for (size_t j = 0; j < chain.size(); ++j) units.insert(units.begin() + pos[j] + j, chain[j]);
  }
  std::string out;
  size_t total = 0;
  for (const auto& u : units) total += u.size() + 1;
  out.reserve(total);
  for (size_t i = 0; i < units.size(); ++i) {
    if (i > 0) out += ' ';
    out.append(units[i]);
  }
  return ReplaceAll(out, ". \n", ".\n");
}

class VtGenerator final : public Generator {
 public:
  VtGenerator(const TaskSpec& spec, int64_t length_limit, const TokenCounter& count_tokens,
              uint64_t seed)
      : spec_(spec), limit_(length_limit) {
    // The example's noise count: the largest multiple of 5 whose example (with its answer) fits
    // 500 tokens with tokens_to_generate, as the reference sizes it.
    example_noise_ = kExampleStep;
    for (int64_t n = kExampleStep; n <= kExampleLength; n += kExampleStep) {
      Rng rng(seed, 100);
      if (count_tokens(Example(n, rng)) + spec_.tokens_to_generate > kExampleLength) break;
      example_noise_ = n;
    }
  }

  std::string_view SizeUnit() const override { return "noise sentences"; }
  int64_t MinSize() const override { return spec_.num_chains * (spec_.num_hops + 1) + 1; }
  int64_t MaxSize() const override { return std::max<int64_t>(limit_, MinSize()); }

  TaskPrompt Build(int64_t size, uint64_t seed, int64_t /*index*/) const override {
    Rng rng_chain(seed, 1), rng_positions(seed, 3), rng_example(seed, 5);
    const Chains chains = MakeChains(spec_.num_chains, spec_.num_hops, 5, rng_chain);
    const std::string context = Context(std::max(size, MinSize()), chains, rng_positions);
    TaskPrompt p;
    const std::string num_v = std::to_string(spec_.num_hops + 1);
    const std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"context", context}, {"query", chains.value}, {"num_v", num_v}};
    SplitAtContext(kVtTemplate, fields, spec_.split, &p.context_part, &p.query_part);
    p.answer_prefix = FormatTemplate(kVtAnswerPrefix, fields);
    p.outputs = chains.names[0];
    // The in-context example precedes the task inside the user message, as NV inserts it
    // (example + "\n\n", then "\n\n"). NV draws one example and renames its variables per sample;
    // here every sample draws its own example (names, value and positions). The example is built
    // from the task template alone, so the model template stays intact (NV strips the model
    // template from it by splitting on whitespace, which mangles multi-token chat tails).
    p.context_part = Example(example_noise_, rng_example) + "\n\n" + p.context_part;
    return p;
  }

 private:
  // One example: a chain of num_hops (at most 10) with 3-letter names, its question, the answer
  // prefix and the answer, then "\n\n".
  std::string Example(int64_t n, Rng& rng) const {
    const int hops = std::min(10, spec_.num_hops);
    const Chains chains = MakeChains(spec_.num_chains, hops, 3, rng);
    const std::string context = Context(n, chains, rng);
    const std::string num_v = std::to_string(hops + 1);
    const std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"context", context}, {"query", chains.value}, {"num_v", num_v}};
    std::string answer;
    for (const std::string& v : chains.names[0]) answer += (answer.empty() ? "" : " ") + v;
    return FormatTemplate(kVtTemplate, fields) + FormatTemplate(kVtAnswerPrefix, fields) + " " +
           answer + "\n\n";
  }

  TaskSpec spec_;
  int64_t limit_;
  int64_t example_noise_;
};

}  // namespace

std::unique_ptr<Generator> MakeVariableTracking(const TaskSpec& spec, int64_t length_limit,
                                                const TokenCounter& count_tokens, uint64_t seed) {
  return std::make_unique<VtGenerator>(spec, length_limit, count_tokens, seed);
}

}  // namespace starattn::ruler::internal
