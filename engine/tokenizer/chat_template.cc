// Chat templates of the supported families, rendered natively. Each renderer reproduces what the
// family's jinja template renders (tests/fixtures/tokenizer/chat_templates.json holds strings
// rendered from the real templates with jinja2).
#include "engine/tokenizer/chat_template.h"

#include "engine/common/error.h"
#include "engine/common/utf8.h"

namespace starattn {
namespace {

// Python's str.strip(), which jinja's trim uses.
std::string PyStrip(std::string_view s) { return std::string(utf8::PyStrip(s)); }

// Undoes jinja string-literal escapes.
std::string JinjaUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      switch (c) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        default:
          out += c;
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string_view ChatTemplateName(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::kBase:
      return "base";
    case ChatTemplate::kChatml:
      return "chatml";
    case ChatTemplate::kLlama3:
      return "llama3";
    case ChatTemplate::kLlama2:
      return "llama2";
  }
  return "base";
}

ChatTemplate ParseChatTemplate(std::string_view name) {
  for (const ChatTemplate t :
       {ChatTemplate::kBase, ChatTemplate::kChatml, ChatTemplate::kLlama3, ChatTemplate::kLlama2}) {
    if (name == ChatTemplateName(t)) return t;
  }
  Fail("unknown chat template '{}' (expected base, chatml, llama3 or llama2)", name);
}

ChatTemplate DetectChatTemplate(const std::optional<std::string>& jinja_source) {
  if (!jinja_source.has_value()) return ChatTemplate::kBase;
  const std::string& s = *jinja_source;
  if (s.find("<|im_start|>") != std::string::npos) return ChatTemplate::kChatml;
  if (s.find("<|start_header_id|>") != std::string::npos) return ChatTemplate::kLlama3;
  if (s.find("[INST]") != std::string::npos) return ChatTemplate::kLlama2;
  return ChatTemplate::kBase;
}

std::optional<std::string> DefaultSystemPrompt(const std::optional<std::string>& jinja_source) {
  if (!jinja_source.has_value()) return std::nullopt;
  const std::string& s = *jinja_source;
  // A string literal that holds a whole system turn: '<|im_start|>system\n TEXT <|im_end|>'.
  constexpr std::string_view kHead = "<|im_start|>system";
  constexpr std::string_view kEnd = "<|im_end|>";
  for (size_t pos = s.find(kHead); pos != std::string::npos; pos = s.find(kHead, pos + 1)) {
    size_t text_begin = pos + kHead.size();
    if (s.compare(text_begin, 1, "\n") == 0) {
      text_begin += 1;
    } else if (s.compare(text_begin, 2, "\\n") == 0) {
      text_begin += 2;
    } else {
      continue;
    }
    const size_t text_end = s.find(kEnd, text_begin);
    if (text_end == std::string::npos) continue;
    const std::string_view text(s.data() + text_begin, text_end - text_begin);
    // Inside one literal: no quote (other than escaped), no expression.
    bool literal = !text.empty();
    for (size_t i = 0; i < text.size() && literal; ++i) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '\'' || text[i] == '"' || text[i] == '{' || text[i] == '}') {
        literal = false;
      }
    }
    if (literal) return JinjaUnescape(text);
  }
  return std::nullopt;
}

std::string RenderChat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                       bool add_generation_prompt,
                       const std::optional<std::string>& default_system) {
  std::vector<ChatMessage> msgs;
  msgs.reserve(messages.size() + 1);
  if (default_system.has_value() && !messages.empty() && messages[0].role != "system") {
    msgs.push_back({"system", *default_system});
  }
  msgs.insert(msgs.end(), messages.begin(), messages.end());

  std::string out;
  switch (t) {
    case ChatTemplate::kBase:
      for (size_t i = 0; i < msgs.size(); ++i) {
        if (i > 0) out += "\n\n";
        out += msgs[i].content;
      }
      break;
    case ChatTemplate::kChatml:
      for (const ChatMessage& m : msgs) {
        out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatTemplate::kLlama3:
      for (const ChatMessage& m : msgs) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + PyStrip(m.content) +
               "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatTemplate::kLlama2: {
      // Llama-2-chat: BOS before every [INST] (the first one left to the tokenizer), EOS after
      // every answer; the system prompt goes into the first user turn.
      size_t first = 0;
      std::optional<std::string> system;
      if (!msgs.empty() && msgs[0].role == "system") {
        system = msgs[0].content;
        first = 1;
      }
      for (size_t i = first; i < msgs.size(); ++i) {
        std::string content = msgs[i].content;
        if (i == first && system.has_value()) {
          content = "<<SYS>>\n" + *system + "\n<</SYS>>\n\n" + content;
        }
        if (msgs[i].role == "user") {
          if (i > first) out += "<s>";
          out += "[INST] " + PyStrip(content) + " [/INST]";
        } else if (msgs[i].role == "assistant") {
          out += ' ';
          out += PyStrip(content);
          out += " </s>";
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace starattn
