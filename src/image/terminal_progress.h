// Progress on a terminal: on a tty one line per step rewritten in place
// ("\r" with the percentage), otherwise one plain line per step (logs, CI).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "image/progress.h"

namespace keel::image {

class TerminalProgress final : public Progress {
  public:
    explicit TerminalProgress(FILE* out = stderr);
    ~TerminalProgress() override;

    void step(std::string_view what) override;
    void advance(uint64_t done, uint64_t total) override;
    void note(std::string_view line) override;

  private:
    void end_line();

    FILE* out_;
    bool tty_;
    bool open_line_ = false;
    std::string step_;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace keel::image
