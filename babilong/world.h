// Built-in generator of bAbI-style stories for qa1-qa5, for use without the official files.
// The original 2015 generator is not public; this one follows the bAbI world rules and surface
// forms (benchmarks-spec.md):
//   world: locations bedroom kitchen garden hallway bathroom office; objects apple football milk;
//          actors John Mary Sandra Daniel (qa5: Bill Fred Jeff Mary).
//   rules: a move goes to a different location; get only when co-located with the object and it
//          is not held; drop only what one holds; give only to a different co-located person;
//          held objects travel with their holder.
//   qa1: 5 x [2 moves, "Where is X?"]                      answer: X's last stated location
//   qa2: moves, gets, drops; "Where is the O?"             answer: O's location (2 supporting)
//   qa3: same world, "Where was the O before the L?"       answer: where O was before its latest
//                                                          arrival at L (as the official answers)
//   qa4: "The A is D of the B." x2 on one axis (3 places in a line); "What is D of the B?" /
//        "What is the A D of?"                             answer: the direct neighbour
//   qa5: moves, gets, drops, gives; "What did A give to B?" / "Who gave the O?" / "Who gave the O
//        to B?" / "Who received the O?" / "Who did A give the O to?"   about the latest give, in a
//        form that every matching give of the story answers the same way
// Every statement is true in a simulated world that starts unobserved: an actor's first event is
// a move (so every actor who handles objects has a stated location), and an object nobody has
// touched yet is wherever the first person to pick it up is. Questions are asked only when the
// stated facts determine the answer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "babilong/babi.h"
#include "babilong/rng.h"

namespace starattn::babilong {

struct StoryLine {
  std::string text;  // statement or question (no trailing space)
  bool is_question = false;
  std::string answer;           // questions only
  std::vector<int> supporting;  // questions only: 1-based line numbers in the story
};

// True for the tasks the built-in generator covers (qa1-qa5).
bool HasBuiltinGenerator(int task);

// One story of the task (1..5). Throws Error for another task.
std::vector<StoryLine> GenerateStory(int task, Rng& rng);

// The story in the bAbI file format ("<n> text" lines, questions "<n> q\ta\tids").
std::string FormatStory(const std::vector<StoryLine>& story);

// Sample i: a question drawn uniformly from its own story; depends only on (task, seed, i).
BabiSample GenerateSample(int task, uint64_t seed, int i);
// Samples 0..count-1.
std::vector<BabiSample> GenerateSamples(int task, int count, uint64_t seed);

}  // namespace starattn::babilong
