// LogFile: appends a service's lines to <dir>/<name>.log and rotates it by size
// (NAME.log -> NAME.log.1 -> ... NAME.log.KEEP). Write errors are reported once
// and then the file is retried at the next rotation, never fatal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace keel::init {

class LogFile {
  public:
    LogFile(std::string path, uint64_t max_bytes, int keep)
        : path_(std::move(path)), max_(max_bytes), keep_(keep) {}

    Status append(std::string_view line);
    const std::string& path() const { return path_; }

  private:
    Status open();
    Status rotate();

    std::string path_;
    uint64_t max_;
    int keep_;
    Fd fd_;
    uint64_t size_ = 0;
};

}  // namespace keel::init
