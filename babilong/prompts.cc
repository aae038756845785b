#include "babilong/prompts.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "babilong/babi.h"
#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/utf8.h"

namespace starattn::babilong {
namespace {

// Wraps one worked example.
std::string Example(const std::string& story_and_question, const std::string& answer) {
  return "<example>\n" + story_and_question + "\nAnswer: " + answer + "\n</example>";
}
std::string Join(std::initializer_list<std::string> examples) {
  std::string out;
  for (const auto& e : examples) out += (out.empty() ? "" : "\n\n") + e;
  return out;
}

// Shared openings of the instructions.
const std::string kHidden =
    "Below is a long text with a few short facts scattered through it, followed by a question. "
    "Most of the text is irrelevant; the facts are the short sentences ";
const std::string kOnlyFacts = "Answer using only what the facts say.";
const std::string kPeopleMoving =
    kHidden + "about people moving between places. " + kOnlyFacts +
    " When someone has been in several places, they are in the last place the facts put them.";
const std::string kObjectsRule =
    "Whoever holds an object takes it along wherever they go. An object that is put down stays "
    "where it was put down, even after the person leaves.";
const std::string kOneWord =
    "Reply with one word only. Do not write anything else and do not explain.";
const std::string kYesNo =
    "Reply with one word: yes or no. Do not write anything else and do not explain.";

std::map<std::string, TaskPrompt, std::less<>> MakePrompts() {
  std::map<std::string, TaskPrompt, std::less<>> p;
  p["qa1"] = {
      kPeopleMoving,
      Join({Example("Oliver walked to the attic. Priya went to the cellar. Oliver travelled to the "
                    "porch. Where is Oliver?",
                    "The most recent location of Oliver is porch."),
            Example("Hana journeyed to the library. Tomas moved to the garage. Hana went back to "
                    "the studio. Tomas travelled to the pantry. Where is Hana?",
                    "The most recent location of Hana is studio.")}),
      "Always reply in this form: The most recent location of 'person' is 'location'. Do not add "
      "anything after it."};
  p["qa2"] = {
      kHidden + "about people moving between places and picking up or putting down objects. " +
          kOnlyFacts + " " + kObjectsRule,
      Join({Example("Leo went to the workshop. Leo picked up the hammer. Leo walked to the patio. "
                    "Where is the hammer?",
                    "The hammer is in the patio."),
            Example("Nina moved to the studio. Nina took the lamp there. Nina put down the lamp. "
                    "Nina went to the attic. Where is the lamp?",
                    "The lamp is in the studio.")}),
      "Always reply in this form: The 'item' is in 'location'. Do not add anything after it."};
  p["qa3"] = {
      kHidden + "about people moving between places and picking up or putting down objects. " +
          kOnlyFacts + " " + kObjectsRule +
          " A question about where an object was before some place asks for the place it was in "
          "just before it got there.",
      Join({Example("Leo took the hammer. Leo went to the workshop. Leo walked to the patio. Leo "
                    "moved to the attic. Where was the hammer before the patio?",
                    "Before the patio the hammer was in the workshop."),
            Example("Nina went to the cellar. Nina grabbed the lamp there. Nina travelled to the "
                    "studio. Nina dropped the lamp. Nina moved to the porch. Where was the lamp "
                    "before the studio?",
                    "Before the studio the lamp was in the cellar.")}),
      "Always reply in this form: Before the $location_1$ the $item$ was in the $location_2$. Do "
      "not add anything after it."};
  p["qa4"] = {
      kHidden + "saying how places lie relative to each other (north, south, east or west). " +
          kOnlyFacts,
      Join({Example("The cellar is north of the porch. The attic is south of the porch. What is "
                    "the porch north of?",
                    "attic"),
            Example("The studio is east of the library. The garage is east of the studio. What is "
                    "east of the library?",
                    "studio")}),
      "Reply with one word only: the location. Do not write anything else."};
  p["qa5"] = {
      kHidden + "about people moving, picking up objects and handing them to each other. " +
          kOnlyFacts,
      Join({Example("Ivy picked up the lamp there. Ivy gave the lamp to Omar. Ivy went to the "
                    "attic. Zoe took the hammer there. Who did Ivy give the lamp to?",
                    "Omar"),
            Example("Omar grabbed the kettle there. Omar handed the kettle to Zoe. Omar picked up "
                    "the hammer there. Who gave the kettle?",
                    "Omar"),
            Example("Zoe took the lamp there. Zoe passed the lamp to Ivy. Ivy walked to the porch. "
                    "What did Zoe give to Ivy?",
                    "lamp")}),
      kOneWord};
  p["qa6"] = {
      kPeopleMoving,
      Join({Example("Oliver went to the attic. Oliver walked to the porch. Is Oliver in the porch?",
                    "yes"),
            Example("Hana moved to the library. Tomas went to the cellar. Hana travelled to the "
                    "studio. Is Hana in the library?",
                    "no")}),
      kYesNo};
  p["qa7"] = {
      kHidden + "about people moving and picking up, putting down or handing over objects. " +
          kOnlyFacts,
      Join({Example("Leo went to the workshop. Leo picked up the hammer there. How many objects is "
                    "Leo carrying?",
                    "one"),
            Example("Nina grabbed the lamp there. Nina gave the lamp to Leo. How many objects is "
                    "Nina carrying?",
                    "none"),
            Example("Ivy walked to the porch. Ivy took the kettle there. Ivy picked up the lamp "
                    "there. Omar went to the attic. How many objects is Ivy carrying?",
                    "two")}),
      "Reply with one word: none, or the number of objects written as a word. Do not write "
      "anything else and do not explain."};
  p["qa8"] = {
      kHidden + "about people moving and picking up, putting down or handing over objects. " +
          kOnlyFacts,
      Join(
          {Example("Omar went to the attic. Ivy took the kettle there. What is Ivy carrying?",
                   "kettle"),
           Example("Nina moved to the porch. Leo put down the hammer there. What is Leo "
                   "carrying?",
                   "nothing"),
           Example("Zoe grabbed the lamp there. Zoe walked to the cellar. Zoe picked up the kettle "
                   "there. What is Zoe carrying?",
                   "lamp,kettle")}),
      "Reply with nothing, or the object, or the objects separated by commas. Do not write "
      "anything else and do not explain."};
  p["qa9"] = {
      kHidden + "about where people are or are not. " + kOnlyFacts +
          " A later fact about a person replaces an earlier one.",
      Join({Example("Oliver is not in the attic. Priya is in the cellar. Is Oliver in the attic?",
                    "no"),
            Example("Hana went to the library. Tomas is not in the studio. Is Hana in the "
                    "library?",
                    "yes")}),
      kYesNo};
  p["qa10"] = {
      kHidden + "about where people are, some of them uncertain (either one place or another). " +
          kOnlyFacts + " A later fact about a person replaces an earlier one.",
      Join({Example("Oliver is in the attic. Priya is either in the porch or the cellar. Is Oliver "
                    "in the cellar?",
                    "no"),
            Example("Hana is either in the library or the studio. Is Hana in the studio?", "maybe"),
            Example("Tomas is either in the garage or the pantry. Tomas went to the garage. Is "
                    "Tomas in the garage?",
                    "yes")}),
      "Reply with one word: yes, no or maybe. Do not write anything else and do not explain."};
  p["qa11"] = {
      kPeopleMoving + " Pronouns (he, she) refer to the person named just before.",
      Join({Example("Oliver went to the attic. Afterwards he walked to the porch. Where is Oliver?",
                    "porch"),
            Example("Hana moved to the library. Then she travelled to the studio. Tomas went to "
                    "the garage. Where is Hana?",
                    "studio")}),
      "Reply with one word only: the location. Do not write anything else and do not explain."};
  p["qa12"] = {
      kPeopleMoving + " A fact may move two people at once.",
      Join(
          {Example("Oliver and Priya went to the attic. Priya and Tomas walked to the porch. Where "
                   "is Priya?",
                   "porch"),
           Example("Hana and Tomas moved to the library. Oliver and Hana travelled to the studio. "
                   "Where is Tomas?",
                   "library")}),
      "Reply with one word only: the location. Do not write anything else and do not explain."};
  p["qa13"] = {
      kPeopleMoving + " \"They\" refers to the people named just before.",
      Join({Example("Oliver and Priya went to the attic. Then they walked to the porch. Where is "
                    "Priya?",
                    "porch"),
            Example("Hana and Tomas moved to the library. After that they travelled to the studio. "
                    "Oliver went to the cellar. Where is Hana?",
                    "studio")}),
      "Reply with one word only: the location. Do not write anything else and do not explain."};
  p["qa14"] = {
      kHidden +
          "about where people went at different times (yesterday, this morning, this "
          "afternoon, this evening). " +
          kOnlyFacts + " The facts are not in time order; use the times they mention.",
      Join({Example("This afternoon Oliver went to the porch. Yesterday Oliver walked to the "
                    "attic. This morning Oliver moved to the cellar. Where was Oliver before the "
                    "porch?",
                    "cellar"),
            Example("Yesterday Hana travelled to the studio. This morning Hana went to the "
                    "library. Where was Hana before the library?",
                    "studio")}),
      "Reply with one word only: the location. Do not write anything else and do not explain."};
  p["qa15"] = {
      kHidden +
          "about kinds of animals, what each kind is afraid of, and which kind each named "
          "animal is. " +
          kOnlyFacts,
      Join(
          {Example("Hawks are afraid of eagles. Pip is a hawk. Eagles are afraid of bears. What "
                   "is Pip afraid of?",
                   "eagle"),
           Example("Foxes are afraid of dogs. Dogs are afraid of tigers. Rex is a dog. What is Rex "
                   "afraid of?",
                   "tiger")}),
      "Reply with one word only: the animal, in the singular. Do not write anything else and do "
      "not explain."};
  p["qa16"] = {
      kHidden + "about named animals, their kind and their colour. " + kOnlyFacts +
          " Animals of the same kind have the same colour.",
      Join({Example("Pip is a parrot. Pip is blue. Kiko is a parrot. What color is Kiko?", "blue"),
            Example("Rex is a horse. Bo is a goat. Rex is brown. Bo is black. Tam is a goat. What "
                    "color is Tam?",
                    "black")}),
      "Reply with one word only: the colour. Do not write anything else and do not explain."};
  p["qa17"] = {
      kHidden + "about how shapes are placed relative to each other (left, right, above, below). " +
          kOnlyFacts +
          " The relations chain: what is left of something is also left of what that "
          "thing is left of.",
      Join({Example("The blue circle is above the star. The star is above the green oval. Is the "
                    "green oval below the blue circle?",
                    "yes"),
            Example("The hexagon is to the left of the yellow star. Is the yellow star to the left "
                    "of the hexagon?",
                    "no")}),
      kYesNo};
  p["qa18"] = {
      kHidden + "about which things are bigger than others and which fit inside others. " +
          kOnlyFacts + " A thing fits inside anything bigger than it, and sizes chain.",
      Join({Example("The crate is bigger than the basket. The basket is bigger than the cup. Does "
                    "the cup fit in the crate?",
                    "yes"),
            Example("The jar fits inside the bag. Is the jar bigger than the bag?", "no")}),
      kYesNo};
  p["qa19"] = {
      kHidden + "saying how places lie relative to each other (north, south, east or west). " +
          kOnlyFacts + " A question asks for the two steps that lead from one place to another.",
      Join({Example("The cellar is north of the porch. The attic is west of the cellar. How do "
                    "you go from the porch to the attic?",
                    "n,w"),
            Example("The library is east of the studio. The garage is south of the studio. How do "
                    "you go from the library to the garage?",
                    "w,s")}),
      "Reply with the two steps as letters n, s, e or w separated by a comma, like n,e. Do not "
      "write anything else and do not explain."};
  p["qa20"] = {
      kHidden + "about how people feel and where they go or what they take. " + kOnlyFacts +
          " People go where their need can be met: a hungry or thirsty person to the kitchen, a "
          "tired one to the bedroom, a bored one to the garden.",
      Join({Example("Ravi is tired. Where will ravi go?", "bedroom"),
            Example("Lena is hungry. Lena went to the kitchen. Why did lena go to the kitchen?",
                    "hungry")}),
      kOneWord};
  return p;
}

}  // namespace

const TaskPrompt& PromptFor(std::string_view task) {
  static const std::map<std::string, TaskPrompt, std::less<>> prompts = MakePrompts();
  TaskNumber(task);  // validates the name
  return prompts.find(task)->second;
}

// ---- Prompts files ----------------------------------------------------------------------------

namespace {

constexpr const char* kTemplateFields[] = {"instruction", "examples", "post_prompt", "context",
                                           "question"};

// A template as literal text and {field} pieces.
struct Piece {
  bool field = false;
  std::string text;   // the literal text (braces unescaped) or the field name
  size_t offset = 0;  // where the piece starts in the template
};

std::vector<Piece> ParseTemplate(std::string_view t, std::string_view where) {
  std::vector<Piece> pieces;
  Piece lit;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '}') {
      if (i + 1 < t.size() && t[i + 1] == '}') {
        lit.text += '}';
        ++i;
        continue;
      }
      Fail("{}: single '}}' at offset {} (write '}}}}' for a brace)", where, i);
    }
    if (c != '{') {
      lit.text += c;
      continue;
    }
    if (i + 1 < t.size() && t[i + 1] == '{') {
      lit.text += '{';
      ++i;
      continue;
    }
    const size_t close = t.find('}', i);
    if (close == std::string_view::npos) Fail("{}: '{{' at offset {} is never closed", where, i);
    const std::string_view name = t.substr(i + 1, close - i - 1);
    if (name.empty() || name.find_first_of(":!{.[") != std::string_view::npos) {
      Fail("{}: field '{{{}}}' at offset {}: only named fields without a format are supported",
           where, Printable(name), i);
    }
    if (!lit.text.empty()) pieces.push_back(std::move(lit));
    lit = Piece{false, "", close + 1};
    pieces.push_back({true, std::string(name), i});
    i = close;
  }
  if (!lit.text.empty()) pieces.push_back(std::move(lit));
  return pieces;
}

// utf8::PyStrip's left half.
std::string_view PyLstrip(std::string_view s) {
  const std::string_view both = utf8::PyStrip(s);
  return both.empty() ? std::string_view() : s.substr(both.data() - s.data());
}

std::string StringField(const nlohmann::json& o, const char* key, const std::string& where) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_string()) Fail("{}: no string field '{}'", where, key);
  return it->get<std::string>();
}

}  // namespace

std::string FormatFields(std::string_view tmpl,
                         const std::map<std::string, std::string_view, std::less<>>& fields,
                         std::string_view where) {
  std::string out;
  for (const Piece& p : ParseTemplate(tmpl, where)) {
    if (!p.field) {
      out += p.text;
      continue;
    }
    const auto it = fields.find(p.text);
    if (it == fields.end()) Fail("{}: unknown field '{{{}}}'", where, p.text);
    out += it->second;
  }
  return out;
}

const TaskPrompt& PromptsFile::For(std::string_view task) const {
  const auto it = prompts.find(task);
  if (it == prompts.end()) {
    TaskNumber(task);
    Fail("prompts file {}: no prompts for task '{}'", path, task);
  }
  return it->second;
}

PromptsFile ReadPromptsFile(const std::string& path) {
  const std::string where = "prompts file " + path;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFileToString(path));
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: invalid JSON: {}", where, e.what());
  }
  if (!j.is_object()) Fail("{}: expected a JSON object", where);
  for (const auto& [key, value] : j.items()) {
    if (key != "task_template" && key != "user_template" && key != "default_template" &&
        key != "prompts") {
      Fail("{}: unknown field '{}' (task_template, user_template, default_template, prompts)",
           where, Printable(key));
    }
    if (key != "prompts" && !value.is_string()) Fail("{}: '{}' must be a string", where, key);
  }
  PromptsFile f;
  f.path = path;
  f.default_template = StringField(j, "default_template", where);
  if (!j.contains("prompts") || !j["prompts"].is_object()) {
    Fail("{}: no object field 'prompts' (qa1..qa20 -> instruction, examples, post_prompt)", where);
  }
  for (const auto& [task, p] : j["prompts"].items()) {
    try {
      TaskNumber(task);
    } catch (const Error&) {
      Fail("{}: prompts: '{}' is not a task (qa1..qa20)", where, Printable(task));
    }
    const std::string at = where + ": task '" + task + "'";
    if (!p.is_object()) Fail("{}: expected an object", at);
    for (const auto& [key, value] : p.items()) {
      if (key != "instruction" && key != "examples" && key != "post_prompt") {
        Fail("{}: unknown field '{}' (instruction, examples, post_prompt)", at, Printable(key));
      }
    }
    f.prompts[task] = {StringField(p, "instruction", at), StringField(p, "examples", at),
                       StringField(p, "post_prompt", at)};
  }

  // The template: known fields only, {context} before the line that holds {question}.
  const std::string tw = where + ": default_template";
  const std::vector<Piece> pieces = ParseTemplate(f.default_template, tw);
  std::set<std::string> seen;
  size_t question_at = std::string::npos, context_at = std::string::npos;
  for (const Piece& p : pieces) {
    if (!p.field) continue;
    if (std::find(std::begin(kTemplateFields), std::end(kTemplateFields), p.text) ==
        std::end(kTemplateFields)) {
      Fail("{}: unknown field '{{{}}}' (instruction, examples, post_prompt, context, question)", tw,
           p.text);
    }
    if (!seen.insert(p.text).second) Fail("{}: field '{{{}}}' appears twice", tw, p.text);
    if (p.text == "question") question_at = p.offset;
    if (p.text == "context") context_at = p.offset;
  }
  if (context_at == std::string::npos) Fail("{}: no {{context}} field", tw);
  if (question_at == std::string::npos) Fail("{}: no {{question}} field", tw);
  const size_t line = f.default_template.rfind('\n', question_at);
  if (line == std::string::npos || line < context_at) {
    Fail("{}: {{question}} must be on a line after {{context}}", tw);
  }
  f.context_template = f.default_template.substr(0, line + 1);
  f.query_template = f.default_template.substr(line + 1);
  return f;
}

FilledPrompt FillReferencePrompt(const PromptsFile& file, std::string_view task,
                                 std::string_view context, std::string_view question) {
  const TaskPrompt& p = file.For(task);
  const std::map<std::string, std::string_view, std::less<>> fields = {
      {"instruction", p.instruction},
      {"examples", p.examples},
      {"post_prompt", p.post_prompt},
      {"context", utf8::PyStrip(context)},
      {"question", question}};
  const std::string where = "prompts file " + file.path + ": default_template";
  const std::string head = FormatFields(file.context_template, fields, where);
  const std::string tail = FormatFields(file.query_template, fields, where);
  // (head + tail).strip() == head.lstrip() + tail.rstrip() while neither is all whitespace; the
  // head holds the context markers and the tail the question.
  FilledPrompt out;
  out.context_part = std::string(PyLstrip(head));
  out.query_part = std::string(utf8::PyRstrip(tail));
  if (out.context_part.empty() || out.query_part.empty()) {
    Fail("{}: filled for {} it leaves an empty context or query part", where, task);
  }
  return out;
}

}  // namespace starattn::babilong
