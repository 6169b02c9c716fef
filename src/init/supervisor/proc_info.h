// What /proc tells about a running service: memory, CPU time, its descendants.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace keel::init {

struct ProcInfo {
    uint64_t rss_bytes = 0;
    double cpu_seconds = 0;       // user + system, of the process itself
    std::vector<pid_t> children;  // every descendant, depth first
};

// Nothing when the process is gone. `proc` is the procfs mount to read.
std::optional<ProcInfo> read_proc_info(pid_t pid, std::string_view proc = "/proc");

// Parses the fields Keel needs from a /proc/PID/stat line (pure; the command name
// may contain spaces and parentheses). Fields: ppid, utime+stime in ticks, rss pages.
struct StatFields {
    pid_t ppid = 0;
    uint64_t cpu_ticks = 0;
    uint64_t rss_pages = 0;
};
std::optional<StatFields> parse_proc_stat(std::string_view line);

}  // namespace keel::init
