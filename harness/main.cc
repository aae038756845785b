// starattn: Star Attention inference engine and evaluation harness.
#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"
#include "harness/cli.h"

namespace {

void PrintUsage(const std::vector<starattn::cli::Command>& commands) {
  std::cout << "usage: starattn <command> [options]   (starattn <command> --help for options)\n\n"
               "commands:\n";
  for (const auto& c : commands) {
    std::printf("  %-18s %s\n", c.name.c_str(), c.summary.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Flush denormals to zero (FTZ + DAZ) before any thread starts, so every thread inherits it:
  // long, repetitive contexts drive some activations into the denormal range, where x86 FMA
  // units slow down by orders of magnitude.
  starattn::cpu::EnableFlushDenormals();
  std::vector<starattn::cli::Command> commands;
  for (auto group : {starattn::cli::ModelCommands, starattn::cli::RunCommands,
                     starattn::cli::RulerCommands,
                     starattn::cli::BabilongCommands, starattn::cli::ReportCommands,
                     starattn::cli::SweepCommands, starattn::cli::BenchCommands,
                     starattn::cli::SimulateCommands}) {
    for (auto& c : group()) commands.push_back(std::move(c));
  }
  if (argc < 2) {
    PrintUsage(commands);
    return 2;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    PrintUsage(commands);
    return 0;
  }
  for (const auto& c : commands) {
    if (c.name != verb) continue;
    try {
      return c.run(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const starattn::Error& e) {
      std::cerr << "starattn " << verb << ": error: " << e.what() << "\n";
      return 1;
    } catch (const boost::program_options::error& e) {
      std::cerr << "starattn " << verb << ": error: " << e.what() << " (see --help)\n";
      return 2;
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "starattn " << verb << ": error: " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "starattn " << verb << ": error: out of memory\n";
      return 1;
    }
  }
  std::cerr << "starattn: error: unknown command '" << verb << "' (see starattn --help)\n";
  return 2;
}
