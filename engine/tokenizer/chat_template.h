// Chat templates of the supported families, rendered natively (no jinja engine).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starattn {

enum class ChatTemplate { kBase, kChatml, kLlama3, kLlama2 };

// "base", "chatml", "llama3", "llama2"; parse throws Error on an unknown name.
std::string_view ChatTemplateName(ChatTemplate t);
ChatTemplate ParseChatTemplate(std::string_view name);

// Picks the family from a model's jinja source (nullopt -> kBase).
ChatTemplate DetectChatTemplate(const std::optional<std::string>& jinja_source);
// The system prompt the model's template inserts when none is given (SmolLM2: "You are a helpful
// AI assistant named SmolLM, trained by Hugging Face"; Qwen2: "You are a helpful assistant."),
// parsed from the jinja source; nullopt when it inserts none.
std::optional<std::string> DefaultSystemPrompt(const std::optional<std::string>& jinja_source);

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Renders messages and, with add_generation_prompt, the assistant header. For kBase the contents
// are concatenated with "\n\n" between them and nothing else. BOS is NOT included (the tokenizer
// adds it). `default_system`, if set, is inserted when the first message is not a system message
// (as the model's own template does).
std::string RenderChat(ChatTemplate t, const std::vector<ChatMessage>& messages,
                       bool add_generation_prompt,
                       const std::optional<std::string>& default_system = std::nullopt);

}  // namespace starattn
