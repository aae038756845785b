#include "ruler/data.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/utf8.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ReadLines(const std::string& path) {
  const std::string text = ReadFile(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.emplace_back(utf8::PyRstrip(std::string_view(text).substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return lines;
}

std::vector<std::string> TxtFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json ParseJsonFile(const std::string& path) {
  const std::string text = ReadFile(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    Fail("{} is not valid JSON: {}", path, e.what());
  }
}

// Maps documents to their index in the sorted unique list.
struct DocIndex {
  std::vector<std::string> sorted;
  int32_t Find(const std::string& doc) const {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), doc);
    return static_cast<int32_t>(it - sorted.begin());
  }
};

DocIndex MakeDocIndex(std::vector<std::string> docs) {
  std::sort(docs.begin(), docs.end());
  docs.erase(std::unique(docs.begin(), docs.end()), docs.end());
  return DocIndex{std::move(docs)};
}

}  // namespace

bool WordLists::Present(const std::string& dir) {
  for (const char* f : {"adjectivelist.txt", "nounlist.txt", "verblist.txt"}) {
    if (!fs::is_regular_file(fs::path(dir) / f)) return false;
  }
  return true;
}

WordLists WordLists::Load(const std::string& dir) {
  if (!Present(dir)) {
    Fail(
        "{} does not hold the wonderwords lists adjectivelist.txt, nounlist.txt, verblist.txt "
        "(run tools/fetch_wordlists, or pass --wordlists DIR)",
        dir);
  }
  WordLists w;
  w.adjectives = ReadLines((fs::path(dir) / "adjectivelist.txt").string());
  w.nouns = ReadLines((fs::path(dir) / "nounlist.txt").string());
  w.verbs = ReadLines((fs::path(dir) / "verblist.txt").string());
  for (auto* list : {&w.adjectives, &w.nouns, &w.verbs}) {
    // A trailing newline leaves no empty word; empty lines elsewhere are dropped.
    list->erase(std::remove(list->begin(), list->end(), std::string()), list->end());
  }
  if (w.adjectives.empty() || w.nouns.empty() || w.verbs.empty()) {
    Fail("{}: a word list is empty", dir);
  }
  return w;
}

bool EssayHaystack::Present(const std::string& dir) { return !TxtFiles(dir).empty(); }

EssayHaystack EssayHaystack::FromDirectory(const std::string& dir) {
  if (!fs::is_directory(dir)) Fail("essay directory {} does not exist", dir);
  const std::vector<std::string> files = TxtFiles(dir);
  if (files.empty()) Fail("essay directory {} has no .txt files", dir);
  std::string all;
  for (const std::string& f : files) {
    all += ReadFile(f);
    all += '\n';
  }
  return FromText(all);
}

EssayHaystack EssayHaystack::FromText(std::string_view text) {
  EssayHaystack h;
  h.text_ = CollapseWhitespace(text);
  if (h.text_.empty()) Fail("the essay haystack is empty");
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < h.text_.size()) {
    size_t sp = h.text_.find(' ', pos);
    if (sp == std::string::npos) sp = h.text_.size();
    h.word_begin_.push_back(pos);
    h.word_end_.push_back(sp);
    words.emplace_back(h.text_.data() + pos, sp - pos);
    pos = sp + 1;
  }
  h.ends_sentence_ = SentenceEnds(words);
  return h;
}

QaData QaData::LoadSquad(const std::string& path) try {
  const nlohmann::json j = ParseJsonFile(path);
  if (!j.contains("data") || !j["data"].is_array())
    Fail("{}: not a SQuAD file (no \"data\" list)", path);
  std::vector<std::string> all_docs;
  for (const auto& article : j["data"]) {
    for (const auto& p : article.at("paragraphs"))
      all_docs.push_back(p.at("context").get<std::string>());
  }
  QaData out;
  DocIndex index = MakeDocIndex(std::move(all_docs));
  for (const auto& article : j["data"]) {
    std::vector<int32_t> article_docs;
    for (const auto& p : article.at("paragraphs")) {
      article_docs.push_back(index.Find(p.at("context").get<std::string>()));
    }
    for (const auto& p : article.at("paragraphs")) {
      const int32_t doc = index.Find(p.at("context").get<std::string>());
      for (const auto& qa : p.at("qas")) {
        if (qa.value("is_impossible", false)) continue;
        QaItem item;
        item.question = qa.at("question").get<std::string>();
        for (const auto& a : qa.at("answers"))
          item.answers.push_back(a.at("text").get<std::string>());
        if (item.answers.empty()) continue;
        item.gold = {doc};
        for (const int32_t d : article_docs) {
          if (d != doc) item.related.push_back(d);
        }
        out.items.push_back(std::move(item));
      }
    }
  }
  out.docs = std::move(index.sorted);
  if (out.items.empty()) Fail("{}: no answerable questions", path);
  return out;
} catch (const nlohmann::json::exception& e) {
  Fail("{}: not in the SQuAD format: {}", path, e.what());
}

QaData QaData::LoadHotpotQa(const std::string& path) try {
  const nlohmann::json j = ParseJsonFile(path);
  if (!j.is_array()) Fail("{}: not a HotpotQA file (expected a list of questions)", path);
  auto doc_of = [](const nlohmann::json& para) {
    std::string doc = para.at(0).get<std::string>() + "\n";
    for (const auto& s : para.at(1)) doc += s.get<std::string>();
    return doc;
  };
  std::vector<std::string> all_docs;
  for (const auto& q : j) {
    for (const auto& para : q.at("context")) all_docs.push_back(doc_of(para));
  }
  QaData out;
  DocIndex index = MakeDocIndex(std::move(all_docs));
  for (const auto& q : j) {
    QaItem item;
    item.question = q.at("question").get<std::string>();
    item.answers = {q.at("answer").get<std::string>()};
    for (const auto& para : q.at("context")) {
      const int32_t d = index.Find(doc_of(para));
      if (std::find(item.gold.begin(), item.gold.end(), d) == item.gold.end())
        item.gold.push_back(d);
    }
    out.items.push_back(std::move(item));
  }
  out.docs = std::move(index.sorted);
  if (out.items.empty()) Fail("{}: no questions", path);
  return out;
} catch (const nlohmann::json::exception& e) {
  Fail("{}: not in the HotpotQA format: {}", path, e.what());
}

}  // namespace starattn::ruler
