// The BPE merge algorithms:
//  - rank-based merges (GPT-2 byte-level BPE, HF tokenizers' BPE model, llama.cpp's
//    llm_tokenizer_bpe): short words merge in a flat array (a linear scan for the best pair
//    beats a heap for the handful of symbols of a typical pre-token); long words (a whole
//    document for SentencePiece-style tokenizers without a pre-tokenizer) use a heap over a
//    linked list, O(n log n).
//  - score-based merges with byte fallback (llama.cpp's llm_tokenizer_spm).
#include <algorithm>
#include <climits>
#include <functional>

#include "engine/tokenizer/internal.h"

namespace starattn::tokenizer_internal {

// ---- PairMap ----------------------------------------------------------------------------------

void PairMap::Reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{kEmpty, {0, 0}});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != kEmpty) {
      Set(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.value);
    }
  }
}

void PairMap::Grow() { Reserve(slots_.empty() ? 8 : slots_.size()); }

void PairMap::Set(int32_t a, int32_t b, Value v) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const uint64_t key = Key(a, b);
  size_t i = Hash(key) & mask_;
  while (true) {
    Slot& s = slots_[i];
    if (s.key == key) {
      s.value = v;
      return;
    }
    if (s.key == kEmpty) {
      s.key = key;
      s.value = v;
      ++size_;
      return;
    }
    i = (i + 1) & mask_;
  }
}

// ---- Rank-based BPE ---------------------------------------------------------------------------

namespace {

constexpr int32_t kNoMerge = INT32_MAX;
// Words up to this many symbols merge in the flat array.
constexpr size_t kSmallWord = 64;

PairMap::Value Lookup(const PairMap& merges, int32_t a, int32_t b) {
  if (a < 0 || b < 0) return {kNoMerge, -1};
  const PairMap::Value* v = merges.Find(a, b);
  return v != nullptr ? *v : PairMap::Value{kNoMerge, -1};
}

void MergeSmall(const PairMap& merges, std::vector<int32_t>* symbols, BpeScratch* scratch) {
  std::vector<int32_t>& s = *symbols;
  std::vector<PairMap::Value>& pairs = scratch->pairs;
  size_t n = s.size();
  pairs.resize(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) pairs[i] = Lookup(merges, s[i], s[i + 1]);
  while (n > 1) {
    size_t best = 0;
    int32_t best_rank = pairs[0].rank;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (pairs[i].rank < best_rank) {
        best_rank = pairs[i].rank;
        best = i;
      }
    }
    if (best_rank == kNoMerge) break;
    s[best] = pairs[best].id;
    s.erase(s.begin() + static_cast<ptrdiff_t>(best) + 1);
    pairs.erase(pairs.begin() + static_cast<ptrdiff_t>(best));
    --n;
    if (best + 1 < n) pairs[best] = Lookup(merges, s[best], s[best + 1]);
    if (best > 0) pairs[best - 1] = Lookup(merges, s[best - 1], s[best]);
  }
}

void MergeLarge(const PairMap& merges, std::vector<int32_t>* symbols, BpeScratch* scratch) {
  std::vector<int32_t>& s = *symbols;
  const auto n = static_cast<int32_t>(s.size());
  std::vector<int32_t>& prev = scratch->prev;
  std::vector<int32_t>& next = scratch->next;
  prev.resize(n);
  next.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // Entries (rank << 32 | position), smallest first: lowest rank, then leftmost.
  std::vector<uint64_t>& heap = scratch->heap;
  heap.clear();
  auto push = [&](int32_t pos, int32_t rank) {
    heap.push_back((static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(pos));
    std::push_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
  };
  for (int32_t i = 0; i + 1 < n; ++i) {
    const PairMap::Value v = Lookup(merges, s[i], s[i + 1]);
    if (v.rank != kNoMerge) {
      heap.push_back((static_cast<uint64_t>(v.rank) << 32) | static_cast<uint32_t>(i));
    }
  }
  std::make_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
  constexpr int32_t kRemoved = -2;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
    const uint64_t top = heap.back();
    heap.pop_back();
    const auto pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
    const auto rank = static_cast<int32_t>(top >> 32);
    if (prev[pos] == kRemoved) continue;
    const int32_t nx = next[pos];
    if (nx < 0) continue;
    const PairMap::Value v = Lookup(merges, s[pos], s[nx]);
    if (v.rank != rank) continue;  // stale entry
    s[pos] = v.id;
    prev[nx] = kRemoved;
    next[pos] = next[nx];
    if (next[nx] >= 0) prev[next[nx]] = pos;
    if (prev[pos] >= 0) {
      const PairMap::Value l = Lookup(merges, s[prev[pos]], s[pos]);
      if (l.rank != kNoMerge) push(prev[pos], l.rank);
    }
    if (next[pos] >= 0) {
      const PairMap::Value r = Lookup(merges, s[pos], s[next[pos]]);
      if (r.rank != kNoMerge) push(pos, r.rank);
    }
  }
  int32_t w = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (prev[i] != kRemoved) s[w++] = s[i];
  }
  s.resize(w);
}

}  // namespace

void BpeMerge(const PairMap& merges, std::vector<int32_t>* symbols, BpeScratch* scratch) {
  if (symbols->size() < 2) return;
  if (symbols->size() <= kSmallWord) {
    MergeSmall(merges, symbols, scratch);
  } else {
    MergeLarge(merges, symbols, scratch);
  }
}

// ---- Score-based (SentencePiece) BPE ----------------------------------------------------------

namespace {

// llama.cpp's llm_bigram_spm::comparator: the top is the highest score, then the leftmost.
struct SpmLess {
  bool operator()(const BpeScratch::SpmBigram& l, const BpeScratch::SpmBigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

}  // namespace

void SpmScoreEncode(std::string_view text, const SpmVocabView& v, std::vector<int32_t>* out,
                    BpeScratch* scratch) {
  if (text.empty()) return;
  auto& sym = scratch->spm_symbols;
  sym.clear();
  for (size_t offs = 0; offs < text.size();) {
    const size_t n = ValidCharLen(text, offs);
    const auto index = static_cast<int32_t>(sym.size());
    sym.push_back({index - 1, offs + n == text.size() ? -1 : index + 1, static_cast<uint32_t>(offs),
                   static_cast<uint32_t>(n)});
    offs += n;
  }
  auto& heap = scratch->spm_heap;
  heap.clear();
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const std::string_view piece = text.substr(sym[left].begin, sym[left].n + sym[right].n);
    const auto it = v.vocab->find(piece);
    if (it == v.vocab->end()) return;
    heap.push_back({(*v.scores)[it->second], left, right, static_cast<uint32_t>(piece.size())});
    std::push_heap(heap.begin(), heap.end(), SpmLess());
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), SpmLess());
    const BpeScratch::SpmBigram b = heap.back();
    heap.pop_back();
    auto& l = sym[b.left];
    auto& r = sym[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int32_t i = 0; i != -1; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].begin, sym[i].n);
    const auto it = v.vocab->find(piece);
    if (it != v.vocab->end()) {
      out->push_back(it->second);
      continue;
    }
    for (const char c : piece) {
      const int32_t id = (*v.byte_tokens)[static_cast<uint8_t>(c)];
      if (id >= 0) out->push_back(id);
    }
  }
}

}  // namespace starattn::tokenizer_internal
