// Shared by the keel init integration tests: a manifest with the bus as a service,
// and keel init started on it (plainly or as PID 1 of new namespaces).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/harness.h"
#include "integration/nats_js.h"

namespace keel::it {

using nlohmann::json;

// The whole file, or "" when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The bus as the manifest's first service, with s6-style readiness on fd 3.
inline json bus_service(uint16_t port) {
    return {{"name", "bus"},
            {"argv",
             {KEEL_BIN, "bus", "--listen", "127.0.0.1:" + std::to_string(port), "--socket", "none",
              "--ready-fd", "3"}},
            {"readiness", "notify"},
            {"restart_delay", "50ms"}};
}

// Why keel init cannot run as PID 1 of new namespaces here, if it cannot.
inline std::optional<Missing> pid1_unavailable() {
    if (::geteuid() != 0) return Missing{"root", "needs root for PID and mount namespaces"};
    if (::system("unshare --pid --mount --uts --fork --propagation private true 2>/dev/null") != 0)
        return Missing{"namespaces", "unshare --pid --mount --uts is refused here"};
    return std::nullopt;
}

// A process as /proc/PID/stat shows it.
struct ProcEntry {
    pid_t pid;
    char state;        // R, S, Z, T...
    std::string comm;  // the first 15 bytes of the program's name
};

// Children of `parent` from /proc (this process sees every PID namespace below its own).
inline std::vector<ProcEntry> children_of(pid_t parent) {
    std::vector<ProcEntry> out;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
    while (dirent* e = ::readdir(dir.get())) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        std::string stat = read_file("/proc/" + std::string(e->d_name) + "/stat");
        auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 4 > stat.size())
            continue;
        pid_t ppid = std::atoi(stat.c_str() + close + 4);
        if (ppid == parent)
            out.push_back({static_cast<pid_t>(pid), stat[close + 2],
                           stat.substr(open + 1, close - open - 1)});
    }
    return out;
}

// The namespace's init: unshare's child.
inline pid_t init_pid_of(pid_t unshare_pid) {
    auto deadline = Clock::now() + slow(5s);
    while (Clock::now() < deadline) {
        auto kids = children_of(unshare_pid);
        if (!kids.empty()) return kids.front().pid;
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

// keel init over a manifest in a temp dir; `pid1` runs it as PID 1 of new PID,
// mount and UTS namespaces (unshare), with its files under /var/tmp (the namespace's
// init mounts a fresh tmpfs on /tmp when /tmp is not a mount point). With
// `output_fd`, init's stdout and stderr are that fd (say, a pipe nobody reads)
// instead of the captured log.
class InitProcess {
  public:
    InitProcess(json manifest, bool pid1 = false, std::vector<std::string> extra = {},
                int output_fd = -1)
        : dir_(pid1 ? "/var/tmp" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp")),
          port_(free_port()),
          pid1_(pid1) {
        if (manifest.contains("services"))
            for (auto& s : manifest["services"])
                if (s.value("name", "") == "bus") s = bus_service(port_);
        write_file_atomic(manifest_path(), manifest.dump(2));
        std::vector<std::string> argv;
        if (pid1)
            argv = {"/usr/bin/unshare", "--pid",        "--mount",       "--uts",
                    "--fork",           "--kill-child", "--propagation", "private"};
        argv.insert(argv.end(), {KEEL_BIN, "init", "--manifest", manifest_path(), "--state-dir",
                                 dir_.file("state"), "--server", url()});
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (output_fd >= 0)
            argv.insert(argv.begin(), {"/bin/sh", "-c", "exec \"$@\" >&3 2>&3 3>&-", "sh"});
        proc_ = std::make_unique<Process>(
            Process::Spec{argv, std::nullopt, true, dir_.file("init.log"), output_fd});
    }
    // unshare ignores SIGTERM while it waits for its child: the namespace's init gets
    // SIGKILL instead, which ends the namespace at once.
    ~InitProcess() {
        if (!pid1_ || !proc_->running()) return;
        for (const auto& c : children_of(proc_->pid()))
            ::kill(c.pid, SIGKILL);
        (void)proc_->wait_exit(slow(5s));
    }
    std::string manifest_path() const { return dir_.file("system.json"); }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    uint16_t port() const { return port_; }
    const TempDir& dir() const { return dir_; }
    Process& proc() { return *proc_; }
    std::string log() const { return proc_->out(); }
    bool wait_log(std::string_view text, Ms timeout) { return proc_->wait_output(text, timeout); }

    // keel svc ARGS... --server URL
    CliResult svc(std::vector<std::string> args) {
        args.insert(args.begin(), "svc");
        args.insert(args.end(), {"--server", url()});
        return run_cli(args);
    }
    json status() {
        CliResult r = svc({"status", "--json"});
        if (r.code != 0) throw std::runtime_error("keel svc status: " + r.describe());
        return json::parse(r.out);
    }
    json service(const std::string& name) {
        json st = status();
        for (const auto& s : st["services"])
            if (s["name"] == name) return s;
        throw std::runtime_error("no service " + name + " in " + st.dump());
    }
    // Waits for `pred(status)` (polling init.status over the bus).
    bool wait_status(const std::function<bool(const json&)>& pred, Ms timeout) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            CliResult r = svc({"status", "--json", "--timeout", "1s"});
            if (r.code == 0 && pred(json::parse(r.out))) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }
    bool wait_ready(Ms timeout) {
        return wait_status([](const json& s) { return s["system_ready"].get<bool>(); }, timeout);
    }

  private:
    TempDir dir_;
    uint16_t port_;
    bool pid1_;
    std::unique_ptr<Process> proc_;
};

inline bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0;
}

}  // namespace keel::it
