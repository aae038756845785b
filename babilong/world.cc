#include "babilong/world.h"

#include <algorithm>
#include <array>
#include <optional>

#include "engine/common/error.h"
#include "engine/common/hash.h"

namespace starattn::babilong {
namespace {

const std::vector<std::string> kLocations = {"bedroom", "kitchen",  "garden",
                                             "hallway", "bathroom", "office"};
const std::vector<std::string> kObjects = {"apple", "football", "milk"};
const std::vector<std::string> kActors = {"John", "Mary", "Sandra", "Daniel"};
const std::vector<std::string> kGiveActors = {"Bill", "Fred", "Jeff", "Mary"};
const std::vector<std::string> kMoveVerbs = {"moved to", "went to", "went back to", "journeyed to",
                                             "travelled to"};
const std::vector<std::string> kGetVerbs = {"got", "grabbed", "picked up", "took"};
const std::vector<std::string> kDropVerbs = {"dropped", "discarded", "put down", "left"};
const std::vector<std::string> kGiveVerbs = {"gave", "handed", "passed"};

// The simulated world and the story told about it. Line numbers are 1-based.
class Sim {
 public:
  Sim(const std::vector<std::string>& actors, Rng& rng)
      : actors_(actors),
        rng_(rng),
        loc(actors.size(), -1),
        last_move(actors.size(), 0),
        holder(kObjects.size(), -1),
        obj_loc(kObjects.size(), -1),
        last_touch(kObjects.size(), 0),
        drop_support(kObjects.size(), 0),
        timeline(kObjects.size()) {}

  int n_actors() const { return static_cast<int>(actors_.size()); }
  int n_statements() const { return n_statements_; }
  int n_questions() const { return n_questions_; }
  const std::vector<StoryLine>& lines() const { return lines_; }

  void Move(int a, int l) {
    const int line = Add(actors_[a] + " " + rng_.Pick(kMoveVerbs) + " the " + kLocations[l] + ".");
    loc[a] = l;
    last_move[a] = line;
    for (size_t o = 0; o < kObjects.size(); ++o) {
      if (holder[o] == a) {
        obj_loc[o] = l;
        timeline[o].push_back({l, line});
      }
    }
  }
  void Get(int a, int o) {
    const int line = Add(actors_[a] + " " + rng_.Pick(kGetVerbs) + " the " + kObjects[o] +
                         (rng_.Bernoulli(0.5) ? " there." : "."));
    if (obj_loc[o] < 0) timeline[o].push_back({loc[a], line});
    holder[o] = a;
    obj_loc[o] = loc[a];
    last_touch[o] = line;
  }
  void Drop(int a, int o) {
    const int line = Add(actors_[a] + " " + rng_.Pick(kDropVerbs) + " the " + kObjects[o] +
                         (rng_.Bernoulli(0.5) ? " there." : "."));
    holder[o] = -1;
    last_touch[o] = line;
    drop_support[o] = last_move[a];
  }
  void Give(int a, int b, int o) {
    const int line = Add(actors_[a] + " " + rng_.Pick(kGiveVerbs) + " the " + kObjects[o] + " to " +
                         actors_[b] + ".");
    holder[o] = b;
    last_touch[o] = line;
    gives.push_back(GiveEvent{a, b, o, line});
  }
  void Ask(const std::string& question, const std::string& answer, std::vector<int> supporting) {
    std::vector<int> unique;  // without 0 (none) and repeats, in the given order
    for (const int l : supporting) {
      if (l > 0 && std::find(unique.begin(), unique.end(), l) == unique.end()) unique.push_back(l);
    }
    supporting = std::move(unique);
    lines_.push_back({question, true, answer, std::move(supporting)});
    ++n_questions_;
  }

  // A move of a random actor to a random other location; with probability p_meet, to where
  // another actor is (so that people meet and can give things).
  void RandomMove(double p_meet) {
    const int a = static_cast<int>(rng_.Below(actors_.size()));
    std::vector<int> targets;
    if (rng_.Bernoulli(p_meet)) {
      for (int b = 0; b < n_actors(); ++b) {
        if (b != a && loc[b] >= 0 && loc[b] != loc[a]) targets.push_back(loc[b]);
      }
    }
    if (targets.empty()) {
      for (int l = 0; l < static_cast<int>(kLocations.size()); ++l) {
        if (l != loc[a]) targets.push_back(l);
      }
    }
    Move(a, rng_.Pick(targets));
  }

  struct Weights {
    double move, get, drop, give;
  };
  // One random legal event drawn by type weight (types with no legal event are left out).
  void RandomEvent(Weights w, double p_meet) {
    std::vector<std::pair<int, int>> gets, drops;
    std::vector<std::array<int, 3>> hand_overs;  // (giver, receiver, object)
    for (int a = 0; a < n_actors(); ++a) {
      if (loc[a] < 0) continue;  // an actor's first event is a move
      for (int o = 0; o < static_cast<int>(kObjects.size()); ++o) {
        if (holder[o] < 0 && (obj_loc[o] < 0 || obj_loc[o] == loc[a])) gets.push_back({a, o});
        if (holder[o] == a) {
          drops.push_back({a, o});
          for (int b = 0; b < n_actors(); ++b) {
            if (b != a && loc[b] == loc[a]) hand_overs.push_back({a, b, o});
          }
        }
      }
    }
    const double wg = gets.empty() ? 0 : w.get, wd = drops.empty() ? 0 : w.drop,
                 wv = hand_overs.empty() ? 0 : w.give;
    double u = rng_.Uniform() * (w.move + wg + wd + wv);
    if ((u -= wg) < 0) {
      const auto [a, o] = rng_.Pick(gets);
      Get(a, o);
    } else if ((u -= wd) < 0) {
      const auto [a, o] = rng_.Pick(drops);
      Drop(a, o);
    } else if ((u -= wv) < 0) {
      const auto g = rng_.Pick(hand_overs);
      Give(g[0], g[1], g[2]);
    } else {
      RandomMove(p_meet);
    }
  }

  const std::string& actor(int a) const { return actors_[a]; }

  struct Visit {
    int loc;
    int line;  // the line that brought the object there
  };
  struct GiveEvent {
    int giver, receiver, object, line;
  };

 private:
  int Add(std::string text) {
    lines_.push_back({std::move(text), false, {}, {}});
    ++n_statements_;
    return static_cast<int>(lines_.size());
  }

  const std::vector<std::string>& actors_;
  Rng& rng_;
  std::vector<StoryLine> lines_;
  int n_statements_ = 0;
  int n_questions_ = 0;

 public:
  std::vector<int> loc;           // actor -> location, -1 before its first move
  std::vector<int> last_move;     // actor -> line of its latest move
  std::vector<int> holder;        // object -> actor holding it, -1 if none
  std::vector<int> obj_loc;       // object -> location, -1 before anyone touched it
  std::vector<int> last_touch;    // object -> line of its latest get/drop/give
  std::vector<int> drop_support;  // object -> the move that placed its dropper where it was dropped
  std::vector<std::vector<Visit>> timeline;  // object -> every location it has been in, in order
  std::vector<GiveEvent> gives;              // every give so far, in order
  bool last_give_asked = false;
};

std::vector<StoryLine> StoryQa1(Rng& rng) {
  Sim s(kActors, rng);
  for (int q = 0; q < 5; ++q) {
    s.RandomMove(0);
    s.RandomMove(0);
    std::vector<int> known;
    for (int a = 0; a < s.n_actors(); ++a) {
      if (s.loc[a] >= 0) known.push_back(a);
    }
    const int a = rng.Pick(known);
    s.Ask("Where is " + s.actor(a) + "?", kLocations[s.loc[a]], {s.last_move[a]});
  }
  return s.lines();
}

std::vector<StoryLine> StoryQa2(Rng& rng) {
  Sim s(kActors, rng);
  while (s.n_questions() < 5 && s.n_statements() < 60) {
    s.RandomEvent({0.5, 0.25, 0.25, 0}, 0);
    std::vector<int> touched;
    for (int o = 0; o < static_cast<int>(kObjects.size()); ++o) {
      if (s.obj_loc[o] >= 0) touched.push_back(o);
    }
    if (touched.empty() || !rng.Bernoulli(0.3)) continue;
    const int o = rng.Pick(touched);
    const int support = s.holder[o] >= 0 ? s.last_move[s.holder[o]] : s.drop_support[o];
    s.Ask("Where is the " + kObjects[o] + "?", kLocations[s.obj_loc[o]],
          {s.last_touch[o], support});
  }
  return s.lines();
}

std::vector<StoryLine> StoryQa3(Rng& rng) {
  // "Where was the O before the L?" refers to the object's latest arrival at L (the official
  // qa3 answers always follow it, also when the object was at L several times).
  Sim s(kActors, rng);
  while (s.n_questions() < 5 && s.n_statements() < 120) {
    s.RandomEvent({0.55, 0.3, 0.15, 0}, 0);
    if (!rng.Bernoulli(0.12)) continue;
    std::vector<int> movable;  // objects that have been in two places or more
    for (int o = 0; o < static_cast<int>(kObjects.size()); ++o) {
      if (s.timeline[o].size() >= 2) movable.push_back(o);
    }
    if (movable.empty()) continue;
    const int o = rng.Pick(movable);
    const auto& t = s.timeline[o];
    std::vector<int> places;  // distinct places after the first
    for (size_t i = 1; i < t.size(); ++i) {
      if (std::find(places.begin(), places.end(), t[i].loc) == places.end())
        places.push_back(t[i].loc);
    }
    const int l = rng.Pick(places);
    size_t i = t.size() - 1;
    while (t[i].loc != l) --i;  // latest arrival at l (i >= 1: l is one of t[1..])
    s.Ask("Where was the " + kObjects[o] + " before the " + kLocations[l] + "?",
          kLocations[t[i - 1].loc], {s.last_touch[o], t[i].line, t[i - 1].line});
  }
  return s.lines();
}

std::vector<StoryLine> StoryQa4(Rng& rng) {
  // Three distinct places in a line along one axis: p[0] is `dir` of p[1], p[1] is `dir` of p[2].
  static const std::vector<std::pair<std::string, std::string>> kAxes = {{"north", "south"},
                                                                         {"east", "west"}};
  // Named references, not a structured binding: the lambda below captures them (clang 14).
  const auto& axis = rng.Pick(kAxes);
  const std::string& dir = axis.first;
  const std::string& opposite = axis.second;
  std::vector<int> l = {0, 1, 2, 3, 4, 5};
  rng.Shuffle(l);
  const std::vector<std::string> p = {kLocations[l[0]], kLocations[l[1]], kLocations[l[2]]};
  // relation r: p[r] is dir of p[r+1]
  auto state = [&](int r) {
    return rng.Bernoulli(0.5) ? "The " + p[r] + " is " + dir + " of the " + p[r + 1] + "."
                              : "The " + p[r + 1] + " is " + opposite + " of the " + p[r] + ".";
  };
  std::vector<StoryLine> lines;
  const bool swap = rng.Bernoulli(0.5);
  const int first = swap ? 1 : 0;
  lines.push_back({state(first), false, {}, {}});
  lines.push_back({state(1 - first), false, {}, {}});
  const int r = static_cast<int>(rng.Below(2));
  const int line = (r == first) ? 1 : 2;
  const std::string &a = p[r], &b = p[r + 1];  // a is dir of b; b is opposite of a
  switch (rng.Below(4)) {
    case 0:
      lines.push_back({"What is " + dir + " of the " + b + "?", true, a, {line}});
      break;
    case 1:
      lines.push_back({"What is " + opposite + " of the " + a + "?", true, b, {line}});
      break;
    case 2:
      lines.push_back({"What is the " + a + " " + dir + " of?", true, b, {line}});
      break;
    default:
      lines.push_back({"What is the " + b + " " + opposite + " of?", true, a, {line}});
      break;
  }
  return lines;
}

std::vector<StoryLine> StoryQa5(Rng& rng) {
  // Questions are about the latest give, in one of five forms; a form is used only when every
  // give of the story that matches it has the same answer (the official qa5 sometimes asks
  // "What did A give to B?" after A gave B two different things, and answers the older one).
  Sim s(kGiveActors, rng);
  size_t seen = 0;
  while ((s.n_questions() < 5 && s.n_statements() < 60) ||
         (s.n_questions() == 0 && s.n_statements() < 300)) {
    s.RandomEvent({0.3, 0.2, 0.05, 0.45}, 0.5);
    if (s.gives.size() != seen) {
      seen = s.gives.size();
      s.last_give_asked = false;
    }
    if (s.gives.empty() || !rng.Bernoulli(s.last_give_asked ? 0.15 : 0.5)) continue;
    const Sim::GiveEvent g = s.gives.back();
    // Whether all gives matching `match` agree on `answer`.
    auto unique = [&](auto match, auto answer) {
      for (const auto& e : s.gives) {
        if (match(e) && answer(e) != answer(g)) return false;
      }
      return true;
    };
    const auto giver = [](const Sim::GiveEvent& e) { return e.giver; };
    const auto receiver = [](const Sim::GiveEvent& e) { return e.receiver; };
    const auto object = [](const Sim::GiveEvent& e) { return e.object; };
    const std::string &a = s.actor(g.giver), &b = s.actor(g.receiver), &o = kObjects[g.object];
    std::vector<StoryLine> forms;
    auto form = [&](bool ok, std::string q, const std::string& answer) {
      if (ok) forms.push_back({std::move(q), true, answer, {g.line}});
    };
    form(unique([&](const auto& e) { return e.giver == g.giver && e.receiver == g.receiver; },
                object),
         "What did " + a + " give to " + b + "?", o);
    form(unique([&](const auto& e) { return e.object == g.object; }, giver),
         "Who gave the " + o + "?", a);
    form(unique([&](const auto& e) { return e.object == g.object && e.receiver == g.receiver; },
                giver),
         "Who gave the " + o + " to " + b + "?", a);
    form(unique([&](const auto& e) { return e.object == g.object; }, receiver),
         "Who received the " + o + "?", b);
    form(
        unique([&](const auto& e) { return e.giver == g.giver && e.object == g.object; }, receiver),
        "Who did " + a + " give the " + o + " to?", b);
    if (forms.empty()) continue;
    const StoryLine& q = rng.Pick(forms);
    s.Ask(q.text, q.answer, q.supporting);
    s.last_give_asked = true;
  }
  return s.lines();
}

}  // namespace

bool HasBuiltinGenerator(int task) { return task >= 1 && task <= 5; }

std::vector<StoryLine> GenerateStory(int task, Rng& rng) {
  switch (task) {
    case 1:
      return StoryQa1(rng);
    case 2:
      return StoryQa2(rng);
    case 3:
      return StoryQa3(rng);
    case 4:
      return StoryQa4(rng);
    case 5:
      return StoryQa5(rng);
    default:
      Fail("no built-in generator for qa{} (only qa1-qa5; pass the bAbI files)", task);
  }
}

std::string FormatStory(const std::vector<StoryLine>& story) {
  std::string out;
  for (size_t i = 0; i < story.size(); ++i) {
    out += std::to_string(i + 1) + " " + story[i].text;
    if (story[i].is_question) {
      out += "\t" + story[i].answer + "\t";
      for (size_t k = 0; k < story[i].supporting.size(); ++k) {
        if (k) out += ' ';
        out += std::to_string(story[i].supporting[k]);
      }
    }
    out += "\n";
  }
  return out;
}

BabiSample GenerateSample(int task, uint64_t seed, int i) {
  Rng rng(StreamSeed(
      {seed, Fnv1a64("qa" + std::to_string(task)), Fnv1a64("story"), static_cast<uint64_t>(i)}));
  const std::vector<StoryLine> story = GenerateStory(task, rng);
  std::vector<int> questions;
  for (size_t k = 0; k < story.size(); ++k) {
    if (story[k].is_question) questions.push_back(static_cast<int>(k));
  }
  const int q = rng.Pick(questions);
  BabiSample s;
  for (int k = 0; k < q; ++k) {
    if (story[k].is_question) continue;
    s.facts.push_back(story[k].text);
    s.fact_lines.push_back(k + 1);
  }
  s.question = story[q].text;
  s.answer = story[q].answer;
  s.supporting_lines = story[q].supporting;
  s.question_line = q + 1;
  s.story = i;
  return s;
}

std::vector<BabiSample> GenerateSamples(int task, int count, uint64_t seed) {
  std::vector<BabiSample> out;
  for (int i = 0; i < count; ++i) out.push_back(GenerateSample(task, seed, i));
  return out;
}

}  // namespace starattn::babilong
