// What every fuzz target that builds a tokenizer asks of it (gguf_fuzz, tokenizer_json_fuzz).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace starattn::fuzz {

// Encodes `text` with and without BOS and special tokens: every id is in [0, vocab_size); decodes
// the ids with and without special tokens, and ids outside the vocabulary (skipped); looks up
// pieces, the text as a piece, and the end-of-generation ids; reads the chat template from the
// file (family, default system prompt) and renders a chat with it. Throws only Error.
inline void ExerciseTokenizer(const Tokenizer& tok, const std::string& text) {
  for (const bool special : {false, true}) {
    const std::vector<int32_t> ids = tok.Encode(text, special, special);
    for (const int32_t id : ids) {
      if (id < 0 || id >= tok.vocab_size()) Violation("Encode gave an id outside the vocabulary");
    }
    (void)tok.Decode(ids, false);
    (void)tok.Decode(ids, true);
  }
  const std::vector<int32_t> odd = {-1, 0, tok.vocab_size() - 1, tok.vocab_size(), 1 << 30};
  (void)tok.Decode(odd, false);
  for (int32_t id = 0; id < tok.vocab_size() && id < 64; ++id) (void)tok.Piece(id);
  (void)tok.TokenId(text);
  for (const int32_t id : tok.eog_ids()) {
    if (!tok.IsEog(id)) Violation("an end-of-generation id is not IsEog");
  }
  const ChatTemplate family = DetectChatTemplate(tok.chat_template_source());
  const std::optional<std::string> system = DefaultSystemPrompt(tok.chat_template_source());
  (void)tok.Encode(RenderChat(family, {{"user", text}}, true, system), true, true);
}

}  // namespace starattn::fuzz
