// Private to the ruler library: the generator of each task family and the task templates.
#pragma once

#include <memory>

#include "ruler/tasks.h"

namespace starattn::ruler::internal {

// Task templates of the reference (constants.py), without the answer prefix.
inline constexpr std::string_view kNiahTemplate =
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to "
    "memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all "
    "the special magic {type_needle_v} for {query} mentioned in the provided text?";
inline constexpr std::string_view kNiahAnswerPrefix =
    " The special magic {type_needle_v} for {query} mentioned in the provided text are";
inline constexpr std::string_view kNiahNeedle =
    "One of the special magic {type_needle_v} for {key} is: {value}.";

inline constexpr std::string_view kVtTemplate =
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
    "{context}\nQuestion: Find all variables that are assigned the value {query} in the text "
    "above.";
inline constexpr std::string_view kVtAnswerPrefix =
    " Answer: According to the chain(s) of variable assignment in the text above, {num_v} "
    "variables are assigned the value {query}, they are: ";

inline constexpr std::string_view kCweTemplate =
    "Below is a numbered list of words. In these words, some appear more often than others. "
    "Memorize the ones that appear most often.\n{context}\nQuestion: What are the 10 most common "
    "words in the above list?";
inline constexpr std::string_view kCweAnswerPrefix =
    " Answer: The top 10 words that appear most often in the list are:";

inline constexpr std::string_view kFweTemplate =
    "Read the following coded text and track the frequency of each coded word. Find the three "
    "most frequently appeared coded words. {context}\nQuestion: Do not provide any explanation. "
    "Please ignore the dots '....'. What are the three most frequently appeared words in the "
    "above coded text?";
inline constexpr std::string_view kFweAnswerPrefix =
    " Answer: According to the coded text above, the three most frequently appeared words are:";

inline constexpr std::string_view kQaTemplate =
    "Answer the question based on the given documents. Only give me the answer and do not output "
    "any other words.\n\nThe following are given documents.\n\n{context}\n\nAnswer the question "
    "based on the given documents. Only give me the answer and do not output any other "
    "words.\n\nQuestion: {query}";
inline constexpr std::string_view kQaAnswerPrefix = " Answer:";

// The noise sentence of the `noise` haystack (NIAH) and of VT.
inline constexpr std::string_view kNoise =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

// Splits a filled task template at the end of its {context}: the context part ends right after
// the context (kAfterContextLine: after the newlines that follow it), the query part is the rest.
// `fields` must contain "context".
void SplitAtContext(std::string_view tmpl,
                    const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                    ContextSplit split, std::string* context_part, std::string* query_part);

std::unique_ptr<Generator> MakeNiah(const TaskSpec& spec, const TaskData& data,
                                    int64_t length_limit);
std::unique_ptr<Generator> MakeVariableTracking(const TaskSpec& spec, int64_t length_limit,
                                                const TokenCounter& count_tokens, uint64_t seed);
std::unique_ptr<Generator> MakeCommonWords(const TaskSpec& spec, const TaskData& data,
                                           int64_t length_limit);
std::unique_ptr<Generator> MakeFreqWords(const TaskSpec& spec, int64_t length_limit);
std::unique_ptr<Generator> MakeQa(const TaskSpec& spec, const TaskData& data, int64_t length_limit,
                                  const TokenCounter& count_tokens);

}  // namespace starattn::ruler::internal
