// Running Lua scripts as whole processes, for the keel lua and keel luad tests.
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace keel::it {

// Where keel, keel-run, keel-lua and lua/keel.so were built.
inline std::string bin_dir() {
    return std::filesystem::path(KEEL_BIN).parent_path();
}

inline void write_script(const std::string& path, const std::string& text, mode_t mode = 0644) {
    write_file_atomic(path, text);
    ::chmod(path.c_str(), mode);
}

struct Ran {
    ExitStatus st;
    std::string out, err;
    std::string describe() const { return st.describe() + "\nstdout: " + out + "\nstderr: " + err; }
};

// argv to completion (killed, and a failure added, after `timeout`).
inline Ran run(std::vector<std::string> argv, std::optional<std::string> in = std::nullopt,
               Ms timeout = slow(20s)) {
    Process p(Process::Spec{std::move(argv), std::move(in)});
    auto st = p.wait_exit(timeout);
    if (!st) {
        p.signal(SIGKILL);
        st = p.wait_exit(slow(5s));
        ADD_FAILURE() << "timed out";
    }
    return {st.value_or(ExitStatus{}), p.out(), p.err()};
}

}  // namespace keel::it
