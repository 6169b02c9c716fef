#include "init/supervisor/proc_info.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "base/sys.h"

namespace keel::init {

std::optional<StatFields> parse_proc_stat(std::string_view line) {
    // "pid (comm) state ppid ...": comm ends at the last ')'.
    auto close = line.rfind(')');
    if (close == std::string_view::npos || close + 2 > line.size()) return std::nullopt;
    std::string rest(line.substr(close + 2));
    std::vector<std::string> f;
    size_t pos = 0;
    while (pos < rest.size()) {
        size_t sp = rest.find(' ', pos);
        if (sp == std::string::npos) sp = rest.size();
        f.push_back(rest.substr(pos, sp - pos));
        pos = sp + 1;
    }
    // After comm: [0]=state [1]=ppid ... [11]=utime [12]=stime ... [21]=rss
    if (f.size() < 22) return std::nullopt;
    auto num = [](const std::string& s) -> std::optional<uint64_t> {
        if (s.empty()) return std::nullopt;
        char* end = nullptr;
        unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (*end) return std::nullopt;
        return v;
    };
    auto ppid = num(f[1]), ut = num(f[11]), st = num(f[12]), rss = num(f[21]);
    if (!ppid || !ut || !st || !rss) return std::nullopt;
    return StatFields{static_cast<pid_t>(*ppid), *ut + *st, *rss};
}

namespace {

// The stat file's rss is the kernel's per-task counter, synced lazily before
// Linux 6.2 (a small process that just forked can read 0); smaps_rollup walks
// the page tables and is exact. Nothing when it cannot be read.
std::optional<uint64_t> rss_from_smaps_rollup(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text) return std::nullopt;
    auto at = text->find("\nRss:");
    if (at == std::string::npos) return std::nullopt;
    uint64_t kib = std::strtoull(text->c_str() + at + 5, nullptr, 10);
    return kib * 1024;
}

}  // namespace

std::optional<ProcInfo> read_proc_info(pid_t pid, std::string_view proc) {
    std::string base(proc);
    auto stat = sys::read_file(base + "/" + std::to_string(pid) + "/stat");
    if (!stat) return std::nullopt;
    auto fields = parse_proc_stat(*stat);
    if (!fields) return std::nullopt;
    ProcInfo info;
    info.rss_bytes =
        rss_from_smaps_rollup(base + "/" + std::to_string(pid) + "/smaps_rollup")
            .value_or(fields->rss_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
    info.cpu_seconds =
        static_cast<double>(fields->cpu_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));

    // Descendants: one pass over /proc for parent links (PROC_CHILDREN is often not built).
    std::multimap<pid_t, pid_t> kids;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(base.c_str()), ::closedir);
    if (dir) {
        while (dirent* e = ::readdir(dir.get())) {
            char* end = nullptr;
            long p = std::strtol(e->d_name, &end, 10);
            if (*end || p <= 0) continue;
            auto s = sys::read_file(base + "/" + e->d_name + "/stat");
            if (!s) continue;
            if (auto f = parse_proc_stat(*s)) kids.emplace(f->ppid, static_cast<pid_t>(p));
        }
    }
    std::vector<pid_t> stack{pid};
    while (!stack.empty()) {
        pid_t p = stack.back();
        stack.pop_back();
        auto [lo, hi] = kids.equal_range(p);
        for (auto it = lo; it != hi; ++it) {
            info.children.push_back(it->second);
            stack.push_back(it->second);
        }
    }
    return info;
}

}  // namespace keel::init
