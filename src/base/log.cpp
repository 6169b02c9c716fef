#include "base/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <memory>

#include "base/line_writer.h"

namespace keel::log {
namespace {

const char* g_program = "keel";
Level g_level = Level::kInfo;
std::unique_ptr<LineWriter> g_writer;

void emit(Level level, const char* fmt, va_list ap) {
    if (!enabled(level)) return;
    static const char* const kTags[] = {"debug: ", "", "warning: ", "error: ", "fatal: "};
    // One write per line so lines from several processes sharing stderr do not interleave.
    char line[2048];
    int n = std::snprintf(line, sizeof line, "%s: %s", g_program, kTags[static_cast<int>(level)]);
    if (n < 0) return;
    int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
    if (m < 0) return;
    size_t len = static_cast<size_t>(n) + static_cast<size_t>(m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    if (g_writer) return g_writer->write_line(std::string_view(line, len));
    ssize_t ignored = ::write(STDERR_FILENO, line, len);
    (void)ignored;
}

}  // namespace

void set_program(const char* name) {
    g_program = name;
}
void set_level(Level level) {
    g_level = level;
}
bool enabled(Level level) {
    return level >= g_level;
}

Status use_line_writer(size_t capacity) {
    auto w = KEEL_TRY(LineWriter::for_fd(STDERR_FILENO, capacity, g_program));
    auto next = std::make_unique<LineWriter>(std::move(w));
    if (g_writer) next->take_over(*g_writer);
    g_writer = std::move(next);
    return {};
}

LineWriter* line_writer() {
    return g_writer.get();
}

#define KEEL_LOG_FN(fn, level)      \
    void fn(const char* fmt, ...) { \
        va_list ap;                 \
        va_start(ap, fmt);          \
        emit(level, fmt, ap);       \
        va_end(ap);                 \
    }
KEEL_LOG_FN(debug, Level::kDebug)
KEEL_LOG_FN(info, Level::kInfo)
KEEL_LOG_FN(warning, Level::kWarning)
KEEL_LOG_FN(error, Level::kError)
KEEL_LOG_FN(fatal, Level::kFatal)
#undef KEEL_LOG_FN

}  // namespace keel::log
