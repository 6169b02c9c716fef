// keel net dhcp-hook EVENT: the script udhcpc runs (through the small shell
// wrapper the daemon writes). It reports the lease in udhcpc's environment as one
// line on standard output, which is a pipe to `keel net`; the daemon applies it.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "net/dhcp_lease.h"

namespace keel::cli {

int net_dhcp_hook_main(int argc, char** argv) {
    if (argc != 2 || argv[1][0] == '-') {
        std::fprintf(stderr,
                     "usage: keel net dhcp-hook EVENT  (run by udhcpc, with the lease in its "
                     "environment)\n");
        return kExitUsage;
    }
    auto lease = net::lease_from_env(argv[1], [](const char* k) { return std::getenv(k); });
    if (!lease) return fail("net dhcp-hook", lease.error().message(), kExitUsage);
    std::string line = std::string(net::kLeaseLinePrefix) + net::to_json(*lease).dump() + "\n";
    // One write: a pipe keeps lines up to PIPE_BUF whole.
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0)
        return fail("net dhcp-hook", "cannot write the lease to standard output", kExitTemporary);
    return kExitOk;
}

}  // namespace keel::cli
