// generate, logits, tokenize: run the model or its tokenizer on one prompt.
#include <omp.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "engine/common/error.h"
#include "engine/model/generate.h"
#include "engine/model/model.h"
#include "harness/cli.h"
#include "harness/lib/device.h"
#include "harness/lib/jsonl.h"

namespace po = boost::program_options;

namespace starattn::cli {
namespace {

void AddModelOptions(po::options_description& desc) {
  desc.add_options()("model,m", po::value<std::string>()->required(),
                     "model: a .gguf file or a Hugging Face directory")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads (0 = all cores)");
  AddDeviceOptions(desc);
}

ChatTemplate ResolveTemplate(const Model& m, const po::variables_map& vm) {
  const std::string name = vm["template"].as<std::string>();
  return name == "auto" ? m.chat_template() : ParseChatTemplate(name);
}

// The prompt as the model sees it: the chat template applied when --chat is given.
std::string BuildPrompt(const Model& m, const po::variables_map& vm) {
  const std::string prompt = vm["prompt"].as<std::string>();
  if (!vm.count("chat")) return prompt;
  std::vector<ChatMessage> messages;
  std::optional<std::string> default_system = m.default_system_prompt();
  if (vm.count("system")) {
    messages.push_back({"system", vm["system"].as<std::string>()});
  }
  messages.push_back({"user", prompt});
  return RenderChat(ResolveTemplate(m, vm), messages, /*add_generation_prompt=*/true,
                    default_system);
}

void AddPromptOptions(po::options_description& desc) {
  desc.add_options()("prompt,p", po::value<std::string>()->required(), "prompt text")(
      "chat", "wrap the prompt in the model's chat template")(
      "template", po::value<std::string>()->default_value("auto"),
      "chat template: auto (from the model), chatml, llama3, llama2, base")(
      "system", po::value<std::string>(), "system message (with --chat)");
}

std::vector<int32_t> Tokenize(const Model& m, const std::string& text) {
  const Tokenizer& tok = m.tokenizer();
  return tok.Encode(text, tok.add_bos_default(), /*parse_special=*/true);
}

int RunGenerate(const std::vector<std::string>& args) {
  po::options_description desc("generate options");
  AddModelOptions(desc);
  AddPromptOptions(desc);
  desc.add_options()("max-new-tokens,n", po::value<int64_t>()->default_value(128),
                     "tokens to generate at most")(
      "stop", po::value<std::vector<std::string>>()->multitoken(), "stop strings")(
      "verbose,v", "print timings to stderr");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
                        "usage: starattn generate --model PATH --prompt TEXT [--chat]")) {
    return 0;
  }
  ApplyThreadsOption(vm);
  const DeviceChoice device = DeviceFromOptions(vm);
  const int64_t max_new = vm["max-new-tokens"].as<int64_t>();
  if (max_new < 0) Fail("--max-new-tokens must be >= 0, got {}", max_new);
  auto model = Model::Load(vm["model"].as<std::string>());
  ModelRunner runner(*model, device);
  const std::vector<int32_t> ids = Tokenize(*model, BuildPrompt(*model, vm));
  GenerateOptions opts;
  opts.max_new_tokens = max_new;
  if (vm.count("stop")) opts.stop_strings = vm["stop"].as<std::vector<std::string>>();
  GenerateResult r = runner.Generate(ids, opts);
  std::cout << r.text << std::endl;
  if (vm.count("verbose")) {
    std::cerr << "prompt tokens: " << ids.size() << ", generated: " << r.tokens.size()
              << ", stop: " << r.stop_reason << ", prefill: " << r.prefill_seconds
              << " s, decode: " << r.decode_seconds << " s\n";
  }
  return 0;
}

int RunLogits(const std::vector<std::string>& args) {
  po::options_description desc("logits options");
  AddModelOptions(desc);
  AddPromptOptions(desc);
  desc.add_options()("top-k,k", po::value<int>()->default_value(5), "logits kept per position")(
      "ids", po::value<std::string>(),
      "token ids as a JSON array (instead of tokenizing --prompt)");
  po::variables_map vm;
  // --prompt is not required when --ids is given.
  std::vector<std::string> a = args;
  const bool has_ids = std::find(a.begin(), a.end(), "--ids") != a.end();
  if (has_ids && std::find(a.begin(), a.end(), "--prompt") == a.end() &&
      std::find(a.begin(), a.end(), "-p") == a.end()) {
    a.insert(a.end(), {"--prompt", ""});
  }
  if (!ParseCommandLine(
          a, desc, vm,
          "usage: starattn logits --model PATH (--prompt TEXT | --ids JSON) [--top-k K]")) {
    return 0;
  }
  ApplyThreadsOption(vm);
  const DeviceChoice device = DeviceFromOptions(vm);
  const int top_k = vm["top-k"].as<int>();
  if (top_k <= 0) Fail("--top-k must be positive, got {}", top_k);
  auto model = Model::Load(vm["model"].as<std::string>());
  std::vector<int32_t> ids;
  if (vm.count("ids")) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(vm["ids"].as<std::string>());
      ids = j.get<std::vector<int32_t>>();
    } catch (const nlohmann::json::exception& e) {
      Fail("--ids is not a JSON array of integers: {}", e.what());
    }
  } else {
    ids = Tokenize(*model, BuildPrompt(*model, vm));
  }
  if (ids.empty()) Fail("the prompt has no tokens");
  const ModelConfig& c = model->config();
  if (static_cast<int64_t>(ids.size()) > c.max_positions) {
    Fail("prompt of {} tokens exceeds the model's context length {}", ids.size(), c.max_positions);
  }
  ModelRunner runner(*model, device);
  nlohmann::json out;
  out["tokens"] = ids;
  nlohmann::json positions = nlohmann::json::array();
  const int64_t k = std::min<int64_t>(top_k, c.vocab_size);
  constexpr int64_t kChunk = 256;  // logits of a chunk at a time: [chunk, vocab]
  std::vector<int32_t> order(c.vocab_size);
  runner.AllLogits(ids, kChunk, [&](int64_t, int64_t n, const float* logits) {
    for (int64_t t = 0; t < n; ++t) {
      const float* row = logits + t * c.vocab_size;
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      });
      nlohmann::json top = nlohmann::json::array();
      for (int64_t j = 0; j < k; ++j) top.push_back({order[j], row[order[j]]});
      positions.push_back(std::move(top));
    }
  });
  out["top"] = std::move(positions);
  std::cout << out.dump() << std::endl;
  return 0;
}

int RunTokenize(const std::vector<std::string>& args) {
  po::options_description desc("tokenize options");
  desc.add_options()("model,m", po::value<std::string>(),
                     "model (.gguf or HF directory) whose tokenizer to use")(
      "tokenizer", po::value<std::string>(), "a tokenizer.json (instead of --model)")(
      "text", po::value<std::string>()->required(), "text to tokenize")(
      "bos", po::value<std::string>()->default_value("auto"), "add BOS: auto, yes, no")(
      "no-special", "treat special-token strings as plain text");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
                        "usage: starattn tokenize (--model PATH | --tokenizer FILE) --text TEXT")) {
    return 0;
  }
  if (vm.count("model") == vm.count("tokenizer")) Fail("give exactly one of --model, --tokenizer");
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> own;
  const Tokenizer* tok;
  if (vm.count("tokenizer")) {
    own = Tokenizer::FromJsonFile(vm["tokenizer"].as<std::string>());
    tok = own.get();
  } else {
    model = Model::Load(vm["model"].as<std::string>());
    tok = &model->tokenizer();
  }
  const std::string bos = vm["bos"].as<std::string>();
  if (bos != "auto" && bos != "yes" && bos != "no") Fail("--bos must be auto, yes or no");
  const bool add_bos = bos == "auto" ? tok->add_bos_default() : bos == "yes";
  const auto ids = tok->Encode(vm["text"].as<std::string>(), add_bos, !vm.count("no-special"));
  std::cout << nlohmann::json(ids).dump() << std::endl;
  return 0;
}

}  // namespace

std::vector<Command> ModelCommands() {
  return {
      {"generate", "greedy continuation of a prompt", RunGenerate},
      {"logits", "top-k logits at every position, as JSON", RunLogits},
      {"tokenize", "token ids of a text, as JSON", RunTokenize},
  };
}

}  // namespace starattn::cli
