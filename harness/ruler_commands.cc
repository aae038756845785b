// Commands of the ruler benchmark (being written; returns none yet).
#include "harness/cli.h"

namespace starattn::cli {
std::vector<Command> RulerCommands() { return {}; }
}  // namespace starattn::cli
