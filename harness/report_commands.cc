// report and compare (being written).
#include "harness/cli.h"

namespace starattn::cli {
std::vector<Command> ReportCommands() { return {}; }
}  // namespace starattn::cli
