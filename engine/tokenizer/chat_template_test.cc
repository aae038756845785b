// Chat template tests: family detection, default system prompts and renderings, compared with
// strings rendered from the real jinja templates (tests/fixtures/tokenizer/chat_templates.json,
// written by tools/make_tokenizer_fixtures.py).
#include "engine/tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"
#include "engine/io/gguf.h"

namespace starattn {
namespace {

using json = nlohmann::json;

const json& Fixture() {
  static const json j =
      json::parse(ReadFileToString(testing::FixturePath("tokenizer/chat_templates.json")));
  return j;
}

// The jinja source of a fixture template: inline, from the default model, or from the shared
// data. nullopt (with the reason in *why) when the file is missing.
std::optional<std::string> TemplateSource(const json& source, std::string* why) {
  if (source.contains("inline")) return source["inline"].get<std::string>();
  if (source.contains("model")) {
    const std::string model = testing::DefaultModelPath();
    if (model.empty()) {
      *why = "default model missing";
      return std::nullopt;
    }
    return GgufFile::Open(model).GetString("tokenizer.chat_template");
  }
  const std::string shared = testing::SharedDataDir();
  if (shared.empty()) {
    *why = "shared data missing";
    return std::nullopt;
  }
  const json cfg =
      json::parse(ReadFileToString(shared + "/" + source["shared"].get<std::string>()));
  return cfg["chat_template"].get<std::string>();
}

TEST(ChatTemplate, MatchesJinjaRenderings) {
  size_t checked = 0;
  for (const auto& [name, t] : Fixture()["templates"].items()) {
    SCOPED_TRACE("template " + name);
    std::string why;
    const std::optional<std::string> source = TemplateSource(t["source"], &why);
    if (!source.has_value()) {
      if (why == "default model missing" && testing::AllowMissingModel()) continue;
      ADD_FAILURE() << why;
      continue;
    }
    const ChatTemplate family = DetectChatTemplate(source);
    EXPECT_EQ(ChatTemplateName(family), t["family"].get<std::string>());
    const std::optional<std::string> default_system = DefaultSystemPrompt(source);
    if (t["default_system"].is_null()) {
      EXPECT_FALSE(default_system.has_value()) << *default_system;
    } else {
      EXPECT_EQ(default_system.value_or("(none)"), t["default_system"].get<std::string>());
    }
    for (const json& c : Fixture()["cases"]) {
      if (c["template"] != name) continue;
      std::vector<ChatMessage> messages;
      for (const json& m : c["messages"]) {
        messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
      }
      const bool gen = c["add_generation_prompt"].get<bool>();
      EXPECT_EQ(RenderChat(family, messages, gen, default_system), c["expected"].get<std::string>())
          << "messages " << c["messages"].dump() << ", add_generation_prompt " << gen;
      ++checked;
    }
  }
  EXPECT_GE(checked, 30u);
}

TEST(ChatTemplate, Detection) {
  EXPECT_EQ(DetectChatTemplate(std::nullopt), ChatTemplate::kBase);
  EXPECT_EQ(DetectChatTemplate(std::string("{{ messages[0]['content'] }}")), ChatTemplate::kBase);
  EXPECT_EQ(DetectChatTemplate(std::string("x <|im_start|> y")), ChatTemplate::kChatml);
  EXPECT_EQ(DetectChatTemplate(std::string("<|start_header_id|>")), ChatTemplate::kLlama3);
  EXPECT_EQ(DetectChatTemplate(std::string("'[INST] ' + content")), ChatTemplate::kLlama2);
  EXPECT_EQ(DefaultSystemPrompt(std::nullopt), std::nullopt);
  // Escaped newlines and quotes inside the literal.
  EXPECT_EQ(DefaultSystemPrompt(std::string(
                "{{ '<|im_start|>system\\nYou\\'re helpful.\\nReally.<|im_end|>\\n' }}")),
            "You're helpful.\nReally.");
  // A system turn built from the messages is not a default.
  EXPECT_EQ(DefaultSystemPrompt(std::string(
                "{{ '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}")),
            std::nullopt);
}

TEST(ChatTemplate, Names) {
  for (const ChatTemplate t :
       {ChatTemplate::kBase, ChatTemplate::kChatml, ChatTemplate::kLlama3, ChatTemplate::kLlama2}) {
    EXPECT_EQ(ParseChatTemplate(ChatTemplateName(t)), t);
  }
  EXPECT_THAT([] { ParseChatTemplate("vicuna"); },
              testing::ThrowsOneLineError("unknown chat template 'vicuna'"));
}

TEST(ChatTemplate, BaseAndDefaults) {
  const std::vector<ChatMessage> msgs = {{"user", "one"}, {"assistant", "two"}, {"user", "3"}};
  EXPECT_EQ(RenderChat(ChatTemplate::kBase, msgs, true), "one\n\ntwo\n\n3");
  EXPECT_EQ(RenderChat(ChatTemplate::kBase, {}, true), "");
  EXPECT_EQ(RenderChat(ChatTemplate::kChatml, {}, true), "<|im_start|>assistant\n");
  EXPECT_EQ(RenderChat(ChatTemplate::kChatml, {{"user", "hi"}}, false, std::string("S")),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
  // A given system message wins over the default.
  EXPECT_EQ(RenderChat(ChatTemplate::kChatml, {{"system", "X"}}, false, std::string("S")),
            "<|im_start|>system\nX<|im_end|>\n");
  EXPECT_EQ(RenderChat(ChatTemplate::kLlama3, {{"user", " \t hi \n"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
  EXPECT_EQ(
      RenderChat(ChatTemplate::kLlama2, {{"user", "a"}, {"assistant", "b"}, {"user", "c"}}, true),
      "[INST] a [/INST] b </s><s>[INST] c [/INST]");
}

}  // namespace
}  // namespace starattn
