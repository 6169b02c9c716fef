// keel bench: placeholder removed once the benchmark lands.
#include "cli/verbs.h"
#include "cli/args.h"
namespace keel::cli {
int bench_main(int, char**) { return kExitUsage; }
}  // namespace keel::cli
