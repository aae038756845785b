// Question answering over SQuAD / HotpotQA documents (scripts/data/synthetic/qa.py of the
// reference).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/common/error.h"
#include "ruler/generators.h"
#include "ruler/rng.h"
#include "ruler/text.h"

namespace starattn::ruler::internal {
namespace {

// The distractor fill stops when less than this many tokens of the budget are left, or after
// this many documents in a row did not fit.
constexpr int64_t kMinGap = 8;
constexpr int kMaxMisses = 64;

// A random permutation of [0, n) drawn one element at a time (lazy Fisher-Yates).
class LazyPermutation {
 public:
  LazyPermutation(int64_t n, Rng& rng) : n_(n), rng_(rng) {}
  bool Done() const { return i_ >= n_; }
  int64_t Next() {
    const int64_t j = i_ + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(n_ - i_)));
    const int64_t vj = At(j);
    moved_[j] = At(i_);
    ++i_;
    return vj;
  }

 private:
  int64_t At(int64_t k) const {
    auto it = moved_.find(k);
    return it == moved_.end() ? k : it->second;
  }
  int64_t n_;
  int64_t i_ = 0;
  Rng& rng_;
  std::unordered_map<int64_t, int64_t> moved_;
};

class QaGenerator final : public Generator {
 public:
  QaGenerator(const TaskSpec& spec, const QaData& data, int64_t length_limit,
              const TokenCounter& count_tokens)
      : spec_(spec),
        data_(data),
        limit_(length_limit),
        count_tokens_(count_tokens),
        cost_(data.docs.size()) {
    for (auto& c : cost_) c.store(-1, std::memory_order_relaxed);
    base_ = count_tokens_("");
  }

  // The size is a token budget for the documents (estimated per document); gold documents come
  // first, then distractors in random order, each added when it fits, so that every sample fills
  // its budget closely whatever the lengths of its documents.
  std::string_view SizeUnit() const override { return "document tokens"; }
  int64_t MinSize() const override { return 0; }
  int64_t MaxSize() const override { return limit_; }
  int64_t MaxSamples() const override { return static_cast<int64_t>(data_.items.size()); }

  TaskPrompt Build(int64_t size, uint64_t seed, int64_t index) const override {
    // The reference takes question `index` in file order (the same questions for every seed);
    // the seed draws the distractors and the document order.
    if (index < 0 || index >= static_cast<int64_t>(data_.items.size())) {
      Fail("{}: sample {} but the data set has {} questions", spec_.name, index,
           data_.items.size());
    }
    const QaItem& item = data_.items[static_cast<size_t>(index)];
    Rng rng_pick(seed, 1), rng_order(seed, 2);
    std::vector<int32_t> chosen = item.gold;
    std::unordered_set<int32_t> taken(chosen.begin(), chosen.end());
    int64_t total = 0;
    for (const int32_t d : chosen) total += Cost(d);
    int misses = 0;
    auto consider = [&](int32_t d) {
      if (taken.count(d) != 0) return;
      const int64_t c = Cost(d);
      if (total + c <= size) {
        chosen.push_back(d);
        taken.insert(d);
        total += c;
        misses = 0;
      } else {
        ++misses;
      }
    };
    auto full = [&] { return size - total < kMinGap || misses >= kMaxMisses; };
    // SQuAD: the other paragraphs of the question's article first (the reference's
    // more_context), then any document.
    std::vector<int32_t> related = item.related;
    rng_pick.Shuffle(related);
    for (const int32_t d : related) {
      if (full()) break;
      consider(d);
    }
    LazyPermutation perm(static_cast<int64_t>(data_.docs.size()), rng_pick);
    while (!full() && !perm.Done()) consider(static_cast<int32_t>(perm.Next()));

    rng_order.Shuffle(chosen);
    std::string context;
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (i > 0) context += "\n\n";
      context += fmt::format("Document {}:\n", i + 1);
      context += data_.docs[chosen[i]];
    }
    TaskPrompt p;
    SplitAtContext(kQaTemplate, {{"context", context}, {"query", item.question}}, spec_.split,
                   &p.context_part, &p.query_part);
    p.answer_prefix = std::string(kQaAnswerPrefix);
    p.outputs = item.answers;
    return p;
  }

 private:
  // Estimated tokens a document adds to the context, with its header and separator; computed
  // once per document (concurrent first computations agree).
  int64_t Cost(int32_t d) const {
    int32_t c = cost_[d].load(std::memory_order_relaxed);
    if (c < 0) {
      c = static_cast<int32_t>(count_tokens_("\n\nDocument 10:\n" + data_.docs[d]) - base_);
      cost_[d].store(c, std::memory_order_relaxed);
    }
    return c;
  }

  TaskSpec spec_;
  const QaData& data_;
  int64_t limit_;
  TokenCounter count_tokens_;
  int64_t base_;
  mutable std::vector<std::atomic<int32_t>> cost_;
};

}  // namespace

std::unique_ptr<Generator> MakeQa(const TaskSpec& spec, const TaskData& data, int64_t length_limit,
                                  const TokenCounter& count_tokens) {
  const QaData& qa = spec.qa_set == QaSet::kSquad ? *data.squad : *data.hotpotqa;
  return std::make_unique<QaGenerator>(spec, qa, length_limit, count_tokens);
}

}  // namespace starattn::ruler::internal
