// The `starattn` command line: one sub-command per verb, each with its own options.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace starattn::cli {

struct Command {
  std::string name;
  std::string summary;
  // Receives the arguments after the verb; returns the exit code. Errors are thrown as
  // starattn::Error (or boost::program_options errors) and reported by main.
  std::function<int(const std::vector<std::string>& args)> run;
};

std::vector<Command> ModelCommands();     // generate, logits, tokenize
std::vector<Command> RunCommands();       // run
std::vector<Command> RulerCommands();     // generate-ruler, eval (RULER and BABILong)
std::vector<Command> BabilongCommands();  // generate-babilong, eval-babilong
std::vector<Command> ReportCommands();    // report, compare
std::vector<Command> SweepCommands();     // sweep
std::vector<Command> BenchCommands();     // bench
std::vector<Command> SimulateCommands();  // simulate

}  // namespace starattn::cli
