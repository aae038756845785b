#include "harness/lib/datagen.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "babilong/babi.h"
#include "babilong/books.h"
#include "babilong/generate.h"
#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/chat_template.h"
#include "harness/lib/profiles.h"
#include "ruler/data.h"
#include "ruler/generate.h"
#include "ruler/tasks.h"

namespace fs = std::filesystem;

namespace starattn::cli {

std::unique_ptr<Tokenizer> LoadTokenizerOf(const std::string& path) {
  if (fs::is_directory(path)) {
    const fs::path json = fs::path(path) / "tokenizer.json";
    if (!fs::is_regular_file(json)) Fail("{}: no tokenizer.json in the folder", path);
    return Tokenizer::FromJsonFile(json.string());
  }
  if (!fs::is_regular_file(path)) Fail("{}: no such file", path);
  if (path.ends_with(".json")) return Tokenizer::FromJsonFile(path);
  return Tokenizer::FromGguf(GgufFile::Open(path));
}

std::string DefaultDataDir(const std::string& name) {
  const fs::path cwd_candidate = fs::path("data") / name;
  if (fs::exists(cwd_candidate)) return cwd_candidate.string();
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path().parent_path() / "data" / name;
    if (fs::exists(beside)) return beside.string();
  }
  return cwd_candidate.string();
}

// ---- RULER ------------------------------------------------------------------------------------

nlohmann::json RulerDataOptions::ToJson() const {
  return {{"tokenizer", tokenizer}, {"tasks", tasks},       {"lengths", lengths},
          {"samples", samples},     {"seed", seed},         {"template", chat_template},
          {"essays", essays},       {"books", books},       {"wordlists", wordlists},
          {"squad", squad},         {"hotpotqa", hotpotqa}, {"profile", profile},
          {"settings", settings}};
}

namespace {

// "books data/books: emma, persuasion (2 .txt files)": the folder of a haystack and its files.
std::string DescribeTextFolder(const std::string& kind, const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".txt") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  const size_t shown = std::min<size_t>(names.size(), 8);
  return fmt::format("{} {}: {}{} ({} .txt files)", kind, dir,
                     fmt::join(names.begin(), names.begin() + static_cast<ptrdiff_t>(shown), ", "),
                     shown < names.size() ? ", ..." : "", names.size());
}

// The fields a profile adds to every data line; none for the plain default profile.
nlohmann::ordered_json ProfileTags(bool plain_default, const std::string& name,
                                   const std::map<std::string, nlohmann::json>& overrides) {
  nlohmann::ordered_json tags = nlohmann::ordered_json::object();
  if (plain_default) return tags;
  tags["profile"] = name;
  if (!overrides.empty()) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& [k, v] : overrides) o[k] = v;
    tags["profile_overrides"] = o;
  }
  return tags;
}

std::vector<const ruler::TaskSpec*> ResolveRulerTasks(const std::vector<std::string>& names) {
  std::vector<const ruler::TaskSpec*> tasks;
  for (const std::string& name : names) {
    if (name == "all") {
      for (const ruler::TaskSpec& t : ruler::AllTasks()) tasks.push_back(&t);
      continue;
    }
    const ruler::TaskSpec* t = ruler::FindTask(name);
    if (t == nullptr) {
      std::vector<std::string> known;
      for (const ruler::TaskSpec& k : ruler::AllTasks()) known.emplace_back(k.name);
      Fail("unknown task '{}' (tasks: {}, or all)", name, fmt::join(known, ", "));
    }
    tasks.push_back(t);
  }
  std::sort(tasks.begin(), tasks.end());
  tasks.erase(std::unique(tasks.begin(), tasks.end()), tasks.end());
  return tasks;
}

// The model template around the task, and its name for the log.
ruler::PromptFrame RulerFrame(const Tokenizer& tok, const std::string& tmpl, std::string* name) {
  const ChatTemplate chat = DetectChatTemplate(tok.chat_template_source());
  ruler::PromptFrame frame;
  if (tmpl == "chat" || (tmpl == "auto" && chat != ChatTemplate::kBase)) {
    if (chat == ChatTemplate::kBase) Fail("--template chat: the model has no chat template");
    frame = ruler::PromptFrame::Chat(chat, DefaultSystemPrompt(tok.chat_template_source()));
  } else if (tmpl != "base" && tmpl != "auto") {
    Fail("--template must be base, chat or auto, got '{}'", tmpl);
  }
  *name = frame.head.empty() && frame.tail.empty() ? "base" : std::string(ChatTemplateName(chat));
  return frame;
}

// The data sets the selected tasks need, loaded where found; for the others, why not.
struct RulerData {
  std::optional<ruler::WordLists> words;
  std::optional<ruler::EssayHaystack> essays;
  std::optional<ruler::QaData> squad, hotpotqa;
  std::string missing_words, missing_essays, missing_squad, missing_hotpotqa;
  std::string essays_source;  // DescribeTextFolder of the essay haystack; "" when not loaded

  ruler::TaskData View() const {
    return {words ? &*words : nullptr, essays ? &*essays : nullptr, squad ? &*squad : nullptr,
            hotpotqa ? &*hotpotqa : nullptr};
  }
  // Why `spec` cannot be generated; "" when its data is there.
  std::string Missing(const ruler::TaskSpec& spec) const {
    const ruler::TaskNeeds n = ruler::NeedsOf(spec);
    if (n.wordlists && !words) return missing_words;
    if (n.essays && !essays) return missing_essays;
    if (n.squad && !squad) return missing_squad;
    if (n.hotpotqa && !hotpotqa) return missing_hotpotqa;
    return "";
  }
};

RulerData LoadRulerData(const std::vector<const ruler::TaskSpec*>& tasks, const RulerDataOptions& o,
                        std::ostream& log) {
  ruler::TaskNeeds needs;
  for (const ruler::TaskSpec* t : tasks) {
    const ruler::TaskNeeds n = ruler::NeedsOf(*t);
    needs.wordlists |= n.wordlists;
    needs.essays |= n.essays;
    needs.squad |= n.squad;
    needs.hotpotqa |= n.hotpotqa;
  }
  RulerData d;
  if (needs.wordlists) {
    const std::string dir = o.wordlists.empty() ? DefaultDataDir("wordlists") : o.wordlists;
    if (!o.wordlists.empty() || ruler::WordLists::Present(dir)) {
      d.words = ruler::WordLists::Load(dir);
    } else {
      d.missing_words = fmt::format(
          "needs the wonderwords word lists: {} not found (run tools/fetch_wordlists, or pass "
          "--wordlists DIR)",
          dir);
    }
  }
  if (needs.essays) {
    if (!o.essays.empty()) {
      d.essays = ruler::EssayHaystack::FromDirectory(o.essays);
      d.essays_source = DescribeTextFolder("essays", o.essays);
      log << "essay haystack: " << o.essays << "\n";
    } else if (!o.books.empty()) {
      d.essays = ruler::EssayHaystack::FromDirectory(o.books);
      d.essays_source = DescribeTextFolder("books", o.books);
      log << "essay haystack: books in " << o.books << "\n";
    } else if (const std::string dir = DefaultDataDir("books");
               ruler::EssayHaystack::Present(dir)) {
      d.essays = ruler::EssayHaystack::FromDirectory(dir);
      d.essays_source = DescribeTextFolder("books", dir);
      log << "essay haystack: books in " << dir << " (no --essays given)\n";
    } else {
      d.missing_essays = fmt::format(
          "needs an essay haystack: no --essays DIR given and {}/*.txt not found (run "
          "tools/fetch_books for the public-domain default, or pass --essays DIR)",
          dir);
    }
  }
  if (needs.squad) {
    if (!o.squad.empty()) {
      d.squad = ruler::QaData::LoadSquad(o.squad);
    } else {
      d.missing_squad = "needs SQuAD: pass --squad FILE (dev-v2.0.json)";
    }
  }
  if (needs.hotpotqa) {
    if (!o.hotpotqa.empty()) {
      d.hotpotqa = ruler::QaData::LoadHotpotQa(o.hotpotqa);
    } else {
      d.missing_hotpotqa = "needs HotpotQA: pass --hotpotqa FILE (hotpot_dev_distractor_v1.json)";
    }
  }
  return d;
}

std::string Quantiles(std::vector<double> v) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  return fmt::format("min {:.4f}  median {:.4f}  max {:.4f}", v.front(), v[v.size() / 2], v.back());
}

struct RulerRow {
  std::string task;
  int64_t length;
  ruler::TaskStats stats;
};

// One task at one length: OUT/<length>/<task>.jsonl, streamed and renamed when complete.
RulerRow WriteRulerFile(const ruler::TaskSpec& spec, int64_t length, const RulerData& data,
                        const Tokenizer& tok, const ruler::GenerateOptions& opt,
                        const nlohmann::ordered_json& tags, const fs::path& out_dir,
                        std::ostream& log) {
  auto counter = [&](std::string_view text) { return ruler::CountTokens(tok, text); };
  auto gen = ruler::MakeGenerator(spec, data.View(), length, counter, opt.seed);
  const fs::path file = out_dir / std::to_string(length) / (std::string(spec.name) + ".jsonl");
  AtomicFileWriter out(file.string());
  auto sink = [&](ruler::Sample&& s) {
    out.out() << ruler::SampleJson(spec, length, s, tags)
                     .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
  };
  ruler::TaskStats stats = ruler::GenerateTask(spec, *gen, tok, opt, sink);
  out.Commit();
  log << fmt::format(
      "{} @{}: {} samples -> {} ({} {} for sample 0; {:.1f} s, {} tokenizations)\n"
      "    (length + tokens_to_generate) / limit: {}{}\n",
      spec.name, length, opt.num_samples, file.string(), stats.probe_size, gen->SizeUnit(),
      stats.seconds, stats.tokenizations, Quantiles(stats.fill),
      stats.under_filled > 0 ? fmt::format("  ({} under {:.0f}%: the data cannot fill the limit)",
                                           stats.under_filled, 100 * opt.min_fill)
                             : "");
  log.flush();
  return {std::string(spec.name), length, std::move(stats)};
}

void PrintRulerSummary(const std::vector<RulerRow>& rows, const std::vector<std::string>& skipped,
                       double seconds, std::ostream& log) {
  log << "\nsummary (fill = (length + tokens_to_generate) / length_limit):\n";
  log << fmt::format("  {:<16} {:>7} {:>8} {:>8} {:>8} {:>8}\n", "task", "limit", "min", "median",
                     "max", "seconds");
  std::vector<double> all_fill;
  for (const RulerRow& r : rows) {
    std::vector<double> f = r.stats.fill;
    std::sort(f.begin(), f.end());
    log << fmt::format("  {:<16} {:>7} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.1f}\n", r.task, r.length,
                       f.front(), f[f.size() / 2], f.back(), r.stats.seconds);
    all_fill.insert(all_fill.end(), r.stats.fill.begin(), r.stats.fill.end());
  }
  log << fmt::format("  all samples: {}  ({} files, {:.1f} s)\n", Quantiles(all_fill), rows.size(),
                     seconds);
  if (!skipped.empty()) {
    log << fmt::format("\n{} task/length pair(s) SKIPPED for missing data (not generated):\n",
                       skipped.size());
    for (const std::string& s : skipped) log << "  " << s << "\n";
  }
}

}  // namespace

void CheckRulerInputs(const RulerDataOptions& o) {
  ResolveRulerTasks(o.tasks);
  if (o.lengths.empty()) Fail("no lengths given");
  for (const int64_t l : o.lengths) {
    if (l <= 0) Fail("--lengths: {} must be positive", l);
  }
  if (o.samples <= 0) Fail("--samples must be positive, got {}", o.samples);
  if (o.threads < 0) Fail("--threads must be >= 0, got {}", o.threads);
  MakeRulerProfile(o.profile, o.settings);
}

nlohmann::ordered_json GenerateRulerData(const RulerDataOptions& o, std::ostream& log) {
  // Plan: tasks, lengths, profile, template and data, everything checked before the slow part.
  CheckRulerInputs(o);
  const ruler::Profile profile = MakeRulerProfile(o.profile, o.settings);
  std::vector<ruler::TaskSpec> tasks;
  for (const ruler::TaskSpec* t : ResolveRulerTasks(o.tasks)) tasks.push_back(profile.Apply(*t));
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::unique_ptr<Tokenizer> tok = LoadTokenizerOf(o.tokenizer);
  std::string template_name;
  const ruler::PromptFrame frame = RulerFrame(*tok, o.chat_template, &template_name);
  std::vector<const ruler::TaskSpec*> needed;
  for (const ruler::TaskSpec& t : tasks) needed.push_back(&t);
  const RulerData data = LoadRulerData(needed, o, log);
  const nlohmann::ordered_json tags =
      ProfileTags(ruler::IsPlainDefault(profile), profile.name, profile.overrides);
  log << fmt::format(
      "generate-ruler: {} task(s) x {} length(s), {} samples, seed {}, template {}, profile {}{}, "
      "{} thread(s)\n",
      tasks.size(), o.lengths.size(), o.samples, o.seed, template_name, profile.name,
      profile.overrides.empty() ? "" : " (overrides " + tags["profile_overrides"].dump() + ")",
      threads);

  // Files.
  ruler::GenerateOptions opt;
  opt.num_samples = o.samples;
  opt.seed = o.seed;
  opt.frame = frame;
  opt.threads = threads;
  std::vector<RulerRow> rows;
  std::vector<std::string> skipped;
  const auto t0 = std::chrono::steady_clock::now();
  for (const int64_t length : o.lengths) {
    fs::create_directories(fs::path(o.out) / std::to_string(length));
    for (const ruler::TaskSpec& spec : tasks) {
      if (const std::string why = data.Missing(spec); !why.empty()) {
        skipped.push_back(fmt::format("{} @{}: SKIPPED: {}", spec.name, length, why));
        log << skipped.back() << std::endl;
        continue;
      }
      opt.length_limit = length;
      rows.push_back(WriteRulerFile(spec, length, data, *tok, opt, tags, o.out, log));
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PrintRulerSummary(rows, skipped, seconds, log);
  if (rows.empty()) Fail("nothing generated: every selected task lacks its data");

  nlohmann::ordered_json info = {{"benchmark", "ruler"}};
  info.update(ruler::ProfileJson(profile));
  info["haystack"] = data.essays_source.empty() ? "none (no essay task)" : data.essays_source;
  WriteFileAtomically((fs::path(o.out) / kDataInfoFile).string(), info.dump(2) + "\n");
  return info;
}

// ---- BABILong ---------------------------------------------------------------------------------

nlohmann::json BabilongDataOptions::ToJson() const {
  return {{"tokenizer", tokenizer}, {"tasks", tasks}, {"lengths", lengths},
          {"samples", samples},     {"seed", seed},   {"template", chat_template},
          {"babi", babi},           {"books", books}, {"profile", profile},
          {"settings", settings}};
}

std::vector<std::string> ExpandBabilongTasks(const std::vector<std::string>& tasks,
                                             bool have_babi) {
  std::vector<std::string> out;
  auto add = [&](int t) {
    const std::string name = "qa" + std::to_string(t);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const std::string& item : tasks) {
    if (item.empty()) continue;
    if (item == "all") {
      for (int t = 1; t <= (have_babi ? 20 : 5); ++t) add(t);
      continue;
    }
    size_t sep = item.find("..");
    const size_t sep_len = sep != std::string::npos ? 2 : 1;
    if (sep == std::string::npos) sep = item.find('-');
    if (sep != std::string::npos) {
      const int a = babilong::TaskNumber(item.substr(0, sep));
      const int b = babilong::TaskNumber(item.substr(sep + sep_len));
      if (a > b) Fail("empty task range '{}'", item);
      for (int t = a; t <= b; ++t) add(t);
      continue;
    }
    add(babilong::TaskNumber(item));
  }
  if (out.empty()) Fail("no tasks given");
  return out;
}

namespace {

// Everything about a BABILong generation that can be checked before the tokenizer is loaded.
struct BabilongPlan {
  std::vector<std::string> tasks;
  std::vector<babilong::Length> lengths;
  babilong::Profile profile;
  std::optional<babilong::PromptsFile> prompts;
  std::string prompts_sha256;
  std::string subset_path;                         // "" unless ordered by a subset
  std::map<std::string, std::vector<int>> subset;  // task -> question indices
  std::vector<babilong::SamplePool> pools;         // per task
};

BabilongPlan PlanBabilong(const BabilongDataOptions& o) {
  BabilongPlan plan;
  if (o.samples <= 0) Fail("--samples must be positive, got {}", o.samples);
  plan.profile = MakeBabilongProfile(o.profile, o.settings);
  babilong::CheckProfile(plan.profile);
  plan.tasks = ExpandBabilongTasks(o.tasks, !o.babi.empty());
  if (o.lengths.empty()) Fail("no lengths given");
  for (const auto& l : o.lengths) plan.lengths.push_back(babilong::ParseLength(l));
  if (!plan.profile.BuiltInPrompts()) {
    plan.prompts = babilong::ReadPromptsFile(plan.profile.prompts);
    for (const std::string& t : plan.tasks) plan.prompts->For(t);
    plan.prompts_sha256 = FileSha256(plan.profile.prompts);
  }
  if (plan.profile.sample_order == babilong::SampleOrder::kSubset) {
    if (o.babi.empty()) {
      Fail(
          "profile {}: sample_order subset orders the questions of the bAbI test files: give "
          "their folder (--babi DIR, or 'babi' in a sweep config), or set sample_order to "
          "shuffled for the built-in generator",
          plan.profile.name);
    }
    plan.subset_path = plan.profile.SubsetPath();
    plan.subset = babilong::ReadSampleSubset(plan.subset_path);
  }
  for (const auto& t : plan.tasks) {
    plan.pools.emplace_back(t, o.babi, o.seed,
                            plan.subset_path.empty() ? nullptr : &plan.subset[t]);
  }
  return plan;
}

// Where the questions come from, for profile.json and the log.
std::string SamplesSource(const BabilongPlan& plan, const BabilongDataOptions& o) {
  if (o.babi.empty()) return "built-in generator (qa1-qa5)";
  if (plan.subset_path.empty())
    return fmt::format("bAbI files {}, shuffled (seed {})", o.babi, o.seed);
  return fmt::format("bAbI files {}, in the order of the subset {}", o.babi, plan.subset_path);
}

}  // namespace

void CheckBabilongInputs(const BabilongDataOptions& o) { PlanBabilong(o); }

nlohmann::ordered_json GenerateBabilongData(const BabilongDataOptions& o, std::ostream& log) {
  // Everything that can fail, before the slow part.
  const BabilongPlan plan = PlanBabilong(o);
  const babilong::Profile& profile = plan.profile;
  const std::unique_ptr<Tokenizer> tok = LoadTokenizerOf(o.tokenizer);
  const babilong::PromptFrame frame = babilong::MakePromptFrame(*tok, o.chat_template);
  const bool need_books = std::any_of(plan.lengths.begin(), plan.lengths.end(),
                                      [](const auto& l) { return l.tokens > 0; });
  const std::string books_dir = o.books.empty() ? DefaultDataDir("books") : o.books;
  std::vector<babilong::Book> books;
  if (need_books) {
    books = babilong::LoadBooks(books_dir);
  } else {
    books.push_back({"none", {"(unused)"}});
  }
  babilong::BuildOptions build;
  build.prompts = plan.prompts ? &*plan.prompts : nullptr;
  build.sizing = profile.sizing;
  const babilong::SampleBuilder builder(*tok, frame, books, build);

  const bool plain = babilong::IsPlainDefault(profile);
  nlohmann::ordered_json tags = ProfileTags(plain, profile.name, profile.overrides);
  if (!plain) {
    tags["match"] = babilong::MatchModeName(profile.match);
    if (plan.prompts) tags["prompts_sha256"] = plan.prompts_sha256;
    if (profile.tokens_to_generate > 0) tags["tokens_to_generate"] = profile.tokens_to_generate;
  }
  nlohmann::ordered_json info = {{"benchmark", "babilong"}};
  info.update(babilong::ProfileJson(profile));
  info["prompts"] = {{"file", plan.prompts ? profile.prompts : "built-in"},
                     {"sha256", plan.prompts_sha256}};
  info["haystack"] =
      need_books ? DescribeTextFolder("books", books_dir) : "none (0k: the facts alone)";
  info["samples"] = SamplesSource(plan, o);

  fs::create_directories(o.out);
  log << fmt::format(
      "generate-babilong: profile {}{}, template {}, prompts {}{}, {} books, {}\n", profile.name,
      profile.overrides.empty() ? "" : " (overrides " + tags["profile_overrides"].dump() + ")",
      frame.name, plan.prompts ? profile.prompts : "built-in",
      plan.prompts ? " (sha256 " + plan.prompts_sha256 + ")" : "", need_books ? books.size() : 0,
      info["samples"].get<std::string>());
  for (size_t ti = 0; ti < plan.tasks.size(); ++ti) {
    for (const auto& len : plan.lengths) {
      std::vector<babilong::Record> records = babilong::GenerateTaskLength(
          builder, plan.pools[ti], plan.tasks[ti], len, static_cast<int>(o.samples), o.seed);
      std::string text;
      int64_t lo = INT64_MAX, hi = 0;
      for (auto& r : records) {
        if (!plain) {
          r.tags = tags;
          if (r.question_index >= 0) r.tags["question_index"] = r.question_index;
          if (r.context_tokens >= 0) r.tags["sized_context_tokens"] = r.context_tokens;
        }
        // Invalid UTF-8 in a user's book becomes U+FFFD rather than an error.
        text += babilong::RecordToJson(r).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace) +
                "\n";
        lo = std::min(lo, r.length);
        hi = std::max(hi, r.length);
      }
      const fs::path file = fs::path(o.out) / (plan.tasks[ti] + "_" + len.name + ".jsonl");
      WriteFileAtomically(file.string(), text);
      const std::string sized =
          profile.sizing == babilong::Sizing::kContext
              ? fmt::format("context {} tokens", len.tokens - babilong::kReferencePromptTokens)
              : fmt::format("limit {}", len.tokens);
      log << fmt::format("{} {}: {} samples, {}..{} tokens ({}) -> {}\n", plan.tasks[ti], len.name,
                         records.size(), lo, hi, sized, file.string());
    }
  }
  WriteFileAtomically((fs::path(o.out) / kDataInfoFile).string(), info.dump(2) + "\n");
  return info;
}

}  // namespace starattn::cli
