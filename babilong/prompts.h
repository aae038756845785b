// Per-task prompts of BABILong: an instruction, worked examples and a post-prompt that fixes the
// answer's form. Written for this project in the spirit of the reference's prompts
// (booydar/babilong prompts.py): the same structure and answer formats, the examples use names,
// places and objects that never occur in the bAbI tasks they illustrate.
//
// The prompt (benchmarks-spec.md, as in NVIDIA/Star-Attention babilong/prompts.py):
//   input_context = <chat prefix>{instruction}\n\n{examples}\n\n{post_prompt}\n\n
//                   <context>\n{context}\n</context>\n\n
//   input_query   = Question: {question}<chat suffix>
//
// A prompts file (the reference profile, profile.h) replaces both the prompts and the template:
// the format of the reference's prompts as ../shared/data/babilong-prompts/default_prompts.json
// holds them (tools/babilong_prompts.py writes it from a clone of booydar/babilong):
//   {"task_template": ..., "user_template": ..., "default_template": "...{context}...{question}",
//    "prompts": {"qa1": {"instruction": ..., "examples": ..., "post_prompt": ...}, ...}}
// and is filled as the reference's get_formatted_input fills it: default_template.format(...,
// context=context.strip(), ...).strip().
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::babilong {

struct TaskPrompt {
  std::string instruction;
  std::string examples;
  std::string post_prompt;
};

// The prompt of "qa1".."qa20". Throws Error for an unknown task.
const TaskPrompt& PromptFor(std::string_view task);

// The prompts and template of a prompts file (format above).
struct PromptsFile {
  std::string path;
  std::string default_template;
  std::map<std::string, TaskPrompt, std::less<>> prompts;  // the tasks the file has
  // The default template cut at the start of the line that holds {question}: Star Attention's
  // context part (phase 1) ends there, the query part (phase 2) starts there.
  std::string context_template;
  std::string query_template;

  // The prompt of `task`; Error naming the file and the task when the file has none.
  const TaskPrompt& For(std::string_view task) const;
};

// Reads and checks a prompts file. Throws Error naming the file and what is wrong: invalid JSON,
// an unknown or missing top-level field, a task that is not qa1..qa20, a task without a string
// instruction, examples or post_prompt, a template field other than {instruction}, {examples},
// {post_prompt}, {context} and {question}, or a default template without {context} before the
// line that holds {question}.
PromptsFile ReadPromptsFile(const std::string& path);

// Python's str.format with named string fields ("{{" and "}}" are literal braces). Throws Error
// (prefixed by `where`) for a field not in `fields`, a positional or formatted field ("{}",
// "{x:>4}", "{x!r}") or an unmatched brace.
std::string FormatFields(std::string_view tmpl,
                         const std::map<std::string, std::string_view, std::less<>>& fields,
                         std::string_view where);

// The input of one sample as the reference fills its template (prompts.py get_formatted_input):
// the template filled with the task's prompt, context.strip() and the question, then stripped as
// a whole; split where PromptsFile cuts the template. Without a chat template, context_part +
// query_part is that input byte for byte.
struct FilledPrompt {
  std::string context_part;
  std::string query_part;
};
FilledPrompt FillReferencePrompt(const PromptsFile& file, std::string_view task,
                                 std::string_view context, std::string_view question);

}  // namespace starattn::babilong
