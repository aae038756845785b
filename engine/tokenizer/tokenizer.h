// Tokenizers of the supported model families, loaded from GGUF metadata or a Hugging Face
// `tokenizer.json`:
//  - byte-level BPE (GPT-2 style) with the model's pre-tokenizer (llama3, smollm, qwen2, gpt2...)
//  - SentencePiece-style BPE (Llama 2 / Mistral `llama` vocab: scores or merges, byte fallback).
// Special (added) tokens are matched before pre-tokenization when parse_special is true.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace starattn {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  static std::unique_ptr<Tokenizer> FromGguf(const GgufFile& gguf);
  // `tokenizer_json` is the path of tokenizer.json; a `tokenizer_config.json` beside it, if any,
  // supplies bos/eos, add_bos and the chat template.
  static std::unique_ptr<Tokenizer> FromJsonFile(const std::string& tokenizer_json);
  // The same from text in memory: `config` is the tokenizer_config.json text, if any; `name`
  // stands for the path in error messages.
  static std::unique_ptr<Tokenizer> FromJson(std::string_view tokenizer_json,
                                             const std::optional<std::string>& config,
                                             const std::string& name);

  // Text -> ids. add_bos prepends the BOS token (callers usually pass add_bos_default()).
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                                      bool parse_special) const = 0;
  // Ids -> text (bytes reassembled, byte-fallback tokens merged, SentencePiece spaces restored).
  virtual std::string Decode(std::span<const int32_t> ids, bool skip_special) const = 0;

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  // Raw vocabulary entry (as stored: byte-level encoded or with U+2581), "" if out of range.
  const std::string& Piece(int32_t id) const;
  // Id of a vocabulary entry or added token, -1 if absent.
  int32_t TokenId(std::string_view piece) const;
  bool IsSpecial(int32_t id) const;

  int32_t bos_id() const { return bos_id_; }  // -1 when the model has none
  int32_t eos_id() const { return eos_id_; }
  // End-of-generation ids: eos plus eot/eom/<|im_end|>/<|eot_id|> where the vocab has them.
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  bool IsEog(int32_t id) const;
  bool add_bos_default() const { return add_bos_; }
  // The model's chat template source (jinja), when its metadata has one.
  const std::optional<std::string>& chat_template_source() const { return chat_template_; }

 protected:
  std::vector<std::string> pieces_;
  std::vector<bool> special_;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  std::vector<int32_t> eog_ids_;
  bool add_bos_ = false;
  std::optional<std::string> chat_template_;
  // piece -> id, filled by the implementation
  std::vector<std::pair<std::string, int32_t>> sorted_index_;
};

}  // namespace starattn
