#include "image/terminal_progress.h"

#include <unistd.h>

namespace keel::image {
namespace {

// Redraws at most this often: a byte counter can advance thousands of times a second.
constexpr auto kRedraw = std::chrono::milliseconds(100);

std::string amount(uint64_t n) {
    char buf[32];
    if (n >= 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f MiB", n / (1024.0 * 1024.0));
    else if (n >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

}  // namespace

TerminalProgress::TerminalProgress(FILE* out) : out_(out), tty_(::isatty(::fileno(out)) == 1) {}

TerminalProgress::~TerminalProgress() {
    end_line();
}

void TerminalProgress::end_line() {
    if (!open_line_) return;
    std::fputc('\n', out_);
    std::fflush(out_);
    open_line_ = false;
}

void TerminalProgress::step(std::string_view what) {
    end_line();
    step_ = what;
    std::fprintf(out_, "%s", step_.c_str());
    if (tty_) {
        open_line_ = true;
    } else {
        std::fputc('\n', out_);
    }
    std::fflush(out_);
    last_ = {};
}

void TerminalProgress::advance(uint64_t done, uint64_t total) {
    if (!tty_ || !open_line_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < kRedraw && done != total) return;
    last_ = now;
    if (total > 0)
        std::fprintf(out_, "\r\033[K%s  %3llu%%  %s / %s", step_.c_str(),
                     static_cast<unsigned long long>(done * 100 / total), amount(done).c_str(),
                     amount(total).c_str());
    else
        std::fprintf(out_, "\r\033[K%s  %s", step_.c_str(), amount(done).c_str());
    std::fflush(out_);
}

void TerminalProgress::note(std::string_view line) {
    end_line();
    std::fprintf(out_, "%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(out_);
}

}  // namespace keel::image
