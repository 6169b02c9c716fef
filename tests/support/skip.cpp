#include "support/skip.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "base/fd.h"
#include "support/source_tree.h"

namespace keel {
namespace {

constexpr std::string_view kAllowList = "tests/support/allowed-skips";

// The facilities tests/support/allowed-skips lists: the first word of each line
// that is neither blank nor a # comment.
const std::set<std::string>& allowed() {
    static const std::set<std::string> names = [] {
        std::set<std::string> out;
        std::ifstream in(source_file(kAllowList));
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line);
            std::string first;
            if (words >> first && first[0] != '#') out.insert(first);
        }
        return out;
    }();
    return names;
}

std::string one_line(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    for (char& c : s)
        if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    return s;
}

// "Suite.Test<TAB>facility<TAB>why" appended to $KEEL_SKIP_LOG: one write(2) of
// an O_APPEND file, so the lines of tests running at once do not interleave.
void log_skip(const Missing& m) {
    const char* path = std::getenv("KEEL_SKIP_LOG");
    if (!path || !*path) return;
    std::string test = "?";
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
        test = std::string(info->test_suite_name()) + "." + info->name();
    std::string line = test + "\t" + m.facility + "\t" + one_line(m.why) + "\n";
    Fd fd(::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    // Unlogged, the summary still counts the skip (from ctest), as one without a reason.
    if (fd) (void)!::write(fd.get(), line.data(), line.size());
}

}  // namespace

bool under_ci() {
    const char* ci = std::getenv("CI");
    return ci && std::string_view(ci) == "true";
}

bool skip_allowed(std::string_view facility) {
    return allowed().contains(std::string(facility));
}

bool record_skip(const Missing& m, std::string* message) {
    if (under_ci() && !skip_allowed(m.facility)) {
        *message = "missing facility \"" + m.facility + "\": " + m.why +
                   "\n(CI=true: a test may skip only for what " + std::string(kAllowList) +
                   " lists; provide the facility or list it there with the reason)";
        return false;
    }
    log_skip(m);
    *message = "[missing " + m.facility + "] " + m.why;
    return true;
}

Missing parse_missing(std::string_view text) {
    std::string_view line = text.substr(0, text.find('\n'));
    auto colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0 ||
        line.substr(0, colon).find(' ') != std::string_view::npos)
        return {"unknown", std::string(text)};
    return {std::string(line.substr(0, colon)), std::string(line.substr(colon + 2))};
}

}  // namespace keel
