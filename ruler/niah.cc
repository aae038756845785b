// Needle in a haystack (scripts/data/synthetic/niah.py of the reference).
#include <algorithm>
#include <string>

#include "engine/common/error.h"
#include "ruler/generators.h"
#include "ruler/rng.h"
#include "ruler/text.h"

namespace starattn::ruler::internal {
namespace {

std::string_view TypeName(NeedleType t) {
  switch (t) {
    case NeedleType::kWords:
      return "words";
    case NeedleType::kNumbers:
      return "numbers";
    case NeedleType::kUuids:
      return "uuids";
  }
  return "";
}

// Sorted unique copy (the reference draws from sorted(set(...))).
std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

class NiahGenerator final : public Generator {
 public:
  NiahGenerator(const TaskSpec& spec, const TaskData& data, int64_t length_limit)
      : spec_(spec), limit_(length_limit) {
    if (data.words != nullptr) {
      adjectives_ = SortedUnique(data.words->adjectives);
      nouns_ = SortedUnique(data.words->nouns);
    }
    if (spec.haystack == HaystackKind::kEssay) PrepareEssay(*data.essays);
  }

  std::string_view SizeUnit() const override {
    switch (spec_.haystack) {
      case HaystackKind::kEssay:
        return "essay words";
      case HaystackKind::kNoise:
        return "noise sentences";
      case HaystackKind::kNeedle:
        return "distractor needles";
    }
    return "";
  }
  int64_t MinSize() const override { return spec_.num_k * spec_.num_v; }
  // Every unit is at least one token.
  int64_t MaxSize() const override { return std::max<int64_t>(limit_, MinSize()); }

  TaskPrompt Build(int64_t size, uint64_t seed, int64_t /*index*/) const override {
    Rng rng_needles(seed, 1), rng_haystack(seed, 2), rng_positions(seed, 3), rng_query(seed, 4);
    const std::string_view type_v = TypeName(spec_.value_type);

    // Keys and their values; one needle per value. Keys are kept distinct (the reference does
    // not check; a repeated key would make the answer ambiguous).
    std::vector<std::string> keys;
    std::vector<std::vector<std::string>> values;
    std::vector<std::string> needles;
    while (static_cast<int>(keys.size()) < spec_.num_k) {
      std::string key = Random(spec_.key_type, rng_needles);
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      keys.push_back(std::move(key));
      values.emplace_back();
      for (int v = 0; v < spec_.num_v; ++v) {
        values.back().push_back(Random(spec_.value_type, rng_needles));
        needles.push_back(Needle(type_v, keys.back(), values.back().back()));
      }
    }
    // The reference shuffles with random.Random(seed), the same order for every sample; here
    // each sample has its own order.
    rng_needles.Shuffle(needles);

    std::string context;
    switch (spec_.haystack) {
      case HaystackKind::kEssay:
        context = EssayContext(size, needles, rng_positions);
        break;
      case HaystackKind::kNoise:
      case HaystackKind::kNeedle:
        context = LineContext(size, needles, keys, rng_haystack, rng_positions);
        break;
    }

    // Query: num_q of the keys; the outputs are all values of the queried keys.
    const std::vector<int64_t> picked = rng_query.SampleDistinct(spec_.num_k, spec_.num_q);
    std::vector<std::string> queries;
    TaskPrompt p;
    for (const int64_t i : picked) {
      queries.push_back(keys[i]);
      for (const std::string& v : values[i]) p.outputs.push_back(v);
    }
    std::string query = queries.back();
    if (queries.size() > 1) {
      query.clear();
      for (size_t i = 0; i + 1 < queries.size(); ++i) query += queries[i] + ", ";
      query += "and " + queries.back();
    }

    // Singular rewrite, on the task template only (the reference rewrites the whole prompt,
    // model template included, turning "You are a helpful assistant" into "You is ...").
    std::string tmpl(kNiahTemplate), prefix(kNiahAnswerPrefix), type_name(type_v);
    if (spec_.num_q * spec_.num_v == 1) {
      for (std::string* t : {&tmpl, &prefix}) {
        *t = ReplaceAll(*t, "Some", "A");
        *t = ReplaceAll(*t, "are all", "is");
        *t = ReplaceAll(*t, "are", "is");
        *t = ReplaceAll(*t, "answers", "answer");
      }
      type_name.pop_back();  // numbers -> number
    }
    const std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"type_needle_v", type_name}, {"context", context}, {"query", query}};
    SplitAtContext(tmpl, fields, spec_.split, &p.context_part, &p.query_part);
    p.answer_prefix = FormatTemplate(prefix, fields);
    return p;
  }

 private:
  std::string Random(NeedleType t, Rng& rng) const {
    switch (t) {
      case NeedleType::kNumbers:
        return std::to_string(rng.Range(1000000, 9999999));  // 7 digits
      case NeedleType::kWords:
        return adjectives_[rng.Below(adjectives_.size())] + "-" + nouns_[rng.Below(nouns_.size())];
      case NeedleType::kUuids:
        return rng.Uuid4();
    }
    return "";
  }

  static std::string Needle(std::string_view type_v, std::string_view key, std::string_view value) {
    return FormatTemplate(kNiahNeedle, {{"type_needle_v", type_v}, {"key", key}, {"value", value}});
  }

  // The essay repeated until it holds MaxSize() words (the reference, NV, repeats it; v1 caps the
  // haystack at the essay's size).
  void PrepareEssay(const EssayHaystack& essay) {
    const int64_t w = essay.num_words();
    const int64_t copies = (MaxSize() + w - 1) / w;
    text_.reserve(static_cast<size_t>(copies) * (essay.text().size() + 1));
    for (int64_t c = 0; c < copies; ++c) {
      if (c > 0) text_ += ' ';
      const size_t base = text_.size();
      text_ += essay.text();
      for (int64_t i = 0; i < w; ++i) {
        word_begin_.push_back(base + essay.word_begin(i));
        word_end_.push_back(base + essay.word_end(i));
        if (essay.ends_sentence(i)) sentence_ends_.push_back(c * w + i);
      }
    }
  }

  // The first n words, split into sentences, with the needles inserted at int(n_sent * depth/100)
  // for depths drawn without replacement from the 40 depths, joined with " " (as the reference
  // does, empty stretches included).
  std::string EssayContext(int64_t n, const std::vector<std::string>& needles, Rng& rng) const {
    n = std::clamp<int64_t>(n, 1, static_cast<int64_t>(word_begin_.size()));
    // Sentences of the first n words: the full ones ending before word n-1, then the last.
    const int64_t n_full = std::lower_bound(sentence_ends_.begin(), sentence_ends_.end(), n - 1) -
                           sentence_ends_.begin();
    const int64_t n_sent = n_full + 1;
    auto sentence_end = [&](int64_t s) { return s < n_full ? sentence_ends_[s] : n - 1; };
    auto join = [&](int64_t a, int64_t b) -> std::string_view {  // sentences [a, b)
      if (a >= b) return {};
      const int64_t first_word = a == 0 ? 0 : sentence_end(a - 1) + 1;
      const size_t begin = word_begin_[first_word];
      return std::string_view(text_).substr(begin, word_end_[sentence_end(b - 1)] - begin);
    };
    const std::vector<int>& depths = NeedleDepths();
    std::vector<int64_t> positions;
    for (const int64_t d : rng.SampleDistinct(static_cast<int64_t>(depths.size()),
                                              static_cast<int64_t>(needles.size()))) {
      positions.push_back(static_cast<int64_t>(static_cast<double>(n_sent) * (depths[d] / 100.0)));
    }
    std::sort(positions.begin(), positions.end());
    positions.insert(positions.begin(), 0);
    positions.push_back(n_sent);
    std::string out;
    out.reserve(word_end_[n - 1] + 200 * needles.size());
    bool first = true;
    auto append = [&](std::string_view part) {
      if (!first) out += ' ';
      first = false;
      out.append(part);
    };
    for (size_t i = 1; i < positions.size(); ++i) {
      append(join(positions[i - 1], positions[i]));
      if (i - 1 < needles.size()) append(needles[i - 1]);
    }
    return out;
  }

  // The noise haystack (n copies of the noise sentence) or the needle haystack (n distractor
  // needles with fresh keys and values), the needles inserted at random line indexes, joined with
  // "\n".
  std::string LineContext(int64_t n, const std::vector<std::string>& needles,
                          const std::vector<std::string>& keys, Rng& rng_haystack,
                          Rng& rng_positions) const {
    n = std::max<int64_t>(n, static_cast<int64_t>(needles.size()));
    std::vector<std::string> lines;
    if (spec_.haystack == HaystackKind::kNeedle) {
      const std::string_view type_v = TypeName(spec_.value_type);
      lines.reserve(static_cast<size_t>(n));
      while (static_cast<int64_t>(lines.size()) < n) {
        std::string key = Random(spec_.key_type, rng_haystack);
        // A distractor never reuses a real key (the reference does not check).
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        lines.push_back(Needle(type_v, key, Random(spec_.value_type, rng_haystack)));
      }
    }
    // indexes = sorted(random.sample(range(n), len(needles)), reverse=True); needle j is
    // inserted before line indexes[j].
    std::vector<int64_t> at = rng_positions.SampleDistinct(n, static_cast<int64_t>(needles.size()));
    std::sort(at.rbegin(), at.rend());
    std::vector<int64_t> needle_before(static_cast<size_t>(n), -1);
    for (size_t j = 0; j < at.size(); ++j) needle_before[at[j]] = static_cast<int64_t>(j);
    std::string out;
    out.reserve(static_cast<size_t>(n) * (kNoise.size() + 1) + 200 * needles.size());
    for (int64_t i = 0; i < n; ++i) {
      if (needle_before[i] >= 0) {
        out += needles[needle_before[i]];
        out += '\n';
      }
      out += spec_.haystack == HaystackKind::kNeedle ? std::string_view(lines[i]) : kNoise;
      if (i + 1 < n) out += '\n';
    }
    return out;
  }

  TaskSpec spec_;
  int64_t limit_;
  std::vector<std::string> adjectives_, nouns_;
  // The repeated essay: single-spaced text, word byte ranges, indexes of sentence-final words.
  std::string text_;
  std::vector<size_t> word_begin_, word_end_;
  std::vector<int64_t> sentence_ends_;
};

}  // namespace

std::unique_ptr<Generator> MakeNiah(const TaskSpec& spec, const TaskData& data,
                                    int64_t length_limit) {
  return std::make_unique<NiahGenerator>(spec, data, length_limit);
}

}  // namespace starattn::ruler::internal
