// The demo system (examples/demo/system.lua) built once per build tree and
// shared by the tests that run it: OUT beside the keel under test, rebuilt only
// when something changed (keel build's own "up to date"), under a lock so that
// tests running in parallel never write it at the same time.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

#include "base/fd.h"
#include "harness.h"

namespace keel::it {

struct DemoBuild {
    std::string out;    // OUT: initramfs.img, vmlinuz, system.json, rootfs/
    std::string error;  // why it could not be built ("" when it was)
};

inline DemoBuild build_demo() {
    std::string bin = KEEL_BIN;
    DemoBuild b;
    b.out = bin.substr(0, bin.rfind('/')) + "/demo-out";
    Fd lock(::open((b.out + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock || ::flock(lock.get(), LOCK_EX) != 0) {
        b.error = "cannot lock " + b.out + ".lock";
        return b;
    }
    // A sanitizer build's keel is ~130 MB even stripped: zstd -19 would take
    // minutes, and the kernel takes a plain cpio too.
    auto r = run_cli({"build", repo_file("examples/demo/system.lua"), "-o", b.out, "--rootfs",
                      "--quiet", "--compression", kSanitized ? "none" : "zstd"},
                     std::nullopt, slow(300s));
    if (r.code != 0) b.error = r.describe();
    return b;
}

}  // namespace keel::it
