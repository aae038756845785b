// Per-task prompts of BABILong: an instruction, worked examples and a post-prompt that fixes the
// answer's form. Written for this project in the spirit of the reference's prompts
// (booydar/babilong prompts.py): the same structure and answer formats, the examples use names,
// places and objects that never occur in the bAbI tasks they illustrate.
//
// The prompt (benchmarks-spec.md, as in NVIDIA/Star-Attention babilong/prompts.py):
//   input_context = <chat prefix>{instruction}\n\n{examples}\n\n{post_prompt}\n\n
//                   <context>\n{context}\n</context>\n\n
//   input_query   = Question: {question}<chat suffix>
#pragma once

#include <string>
#include <string_view>

namespace starattn::babilong {

struct TaskPrompt {
  std::string instruction;
  std::string examples;
  std::string post_prompt;
};

// The prompt of "qa1".."qa20". Throws Error for an unknown task.
const TaskPrompt& PromptFor(std::string_view task);

}  // namespace starattn::babilong
