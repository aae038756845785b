// starattn: Star Attention inference engine and evaluation harness.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"
#include "harness/cli.h"
#include "harness/lib/exit_status.h"

namespace {

void PrintUsage(const std::vector<starattn::cli::Command>& commands) {
  std::cout << "usage: starattn <command> [options]   (starattn <command> --help for options)\n\n"
               "commands:\n";
  for (const auto& c : commands) {
    std::printf("  %-18s %s\n", c.name.c_str(), c.summary.c_str());
  }
}

int Run(int argc, char** argv) {
  // Flush denormals to zero (FTZ + DAZ) before any thread starts, so every thread inherits it:
  // long, repetitive contexts drive some activations into the denormal range, where x86 FMA
  // units slow down by orders of magnitude.
  starattn::cpu::EnableFlushDenormals();
  std::vector<starattn::cli::Command> commands;
  for (auto group : {starattn::cli::ModelCommands, starattn::cli::RunCommands,
                     starattn::cli::RulerCommands, starattn::cli::BabilongCommands,
                     starattn::cli::ReportCommands, starattn::cli::SweepCommands,
                     starattn::cli::BenchCommands, starattn::cli::SimulateCommands}) {
    for (auto& c : group()) commands.push_back(std::move(c));
  }
  if (argc < 2) {
    PrintUsage(commands);
    return starattn::cli::kExitBadInput;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    PrintUsage(commands);
    return 0;
  }
  for (const auto& c : commands) {
    if (c.name != verb) continue;
    try {
      const int code = c.run(std::vector<std::string>(argv + 2, argv + argc));
      // Output that did not reach its destination (a full disk, a closed pipe) is a failure.
      std::cout.flush();
      if (!std::cout) {
        starattn::FailAtRuntime("cannot write the standard output: {}", std::strerror(errno));
      }
      return code;
    } catch (...) {
      const starattn::cli::ExitStatus s =
          starattn::cli::DescribeException(std::current_exception());
      std::cout.flush();
      std::cerr << "starattn " << verb << ": error: " << s.message << "\n";
      return s.code;
    }
  }
  std::cerr << "starattn: error: unknown command '" << starattn::cli::OneLine(verb)
            << "' (see starattn --help)\n";
  return starattn::cli::kExitBadInput;
}

}  // namespace

// Every exception becomes one line on stderr and an exit code (harness/lib/exit_status.h): 2 for
// bad input, 1 for failures at run time. None reaches std::terminate.
int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (...) {
    const starattn::cli::ExitStatus s = starattn::cli::DescribeException(std::current_exception());
    std::cerr << "starattn: error: " << s.message << "\n";
    return s.code;
  }
}
