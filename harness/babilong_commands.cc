// Commands of the babilong benchmark (being written; returns none yet).
#include "harness/cli.h"

namespace starattn::cli {
std::vector<Command> BabilongCommands() { return {}; }
}  // namespace starattn::cli
