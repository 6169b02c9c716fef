// Network namespaces for the net integration tests: each test makes its own
// (named keel-it-<pid>-<n>) and deletes it when done; iproute2 inside it is the
// independent judge of what `keel net` did. Header-only so the shared harness
// stays untouched.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace keel::it {

struct RunResult {
    int code = -1;
    std::string out, err;
};

// Runs argv to completion (10 s at most).
inline RunResult run(std::vector<std::string> argv, Ms timeout = slow(10s)) {
    Process p({std::move(argv), std::nullopt, false, ""});
    RunResult r;
    auto st = p.wait_exit(timeout);
    if (!st) {
        p.signal(SIGKILL);
        st = p.wait_exit(slow(5s));
    }
    if (st) r.code = st->signal ? 128 + st->signal : st->code;
    r.out = p.out();
    r.err = p.err();
    return r;
}

// What keeps namespace tests from running here, or nothing.
inline std::optional<Missing> netns_unavailable() {
    if (::geteuid() != 0) return Missing{"root", "network namespaces need root"};
    if (::access("/usr/sbin/ip", X_OK) != 0 && ::access("/sbin/ip", X_OK) != 0 &&
        ::access("/usr/bin/ip", X_OK) != 0)
        return Missing{"ip", "ip is not installed (iproute2)"};
    return std::nullopt;
}

inline std::string ip_binary() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
        if (::access(p, X_OK) == 0) return p;
    return "ip";
}

class Netns {
  public:
    Netns() {
        static std::atomic<int> n{0};
        name_ = "keel-it-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
        RunResult r = run({ip_binary(), "netns", "add", name_});
        if (r.code != 0) throw std::runtime_error("ip netns add " + name_ + ": " + r.err);
        ip("link set lo up");
    }
    ~Netns() { (void)run({ip_binary(), "netns", "del", name_}); }
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    const std::string& name() const { return name_; }
    // argv run inside the namespace.
    std::vector<std::string> exec(std::vector<std::string> argv) const {
        argv.insert(argv.begin(), {ip_binary(), "netns", "exec", name_});
        return argv;
    }
    std::vector<std::string> keel(std::vector<std::string> args) const {
        args.insert(args.begin(), KEEL_BIN);
        return exec(std::move(args));
    }
    // `ip -n NAME ARGS` (split on spaces); throws on failure.
    void ip(const std::string& args) const {
        RunResult r = run(ip_args(args, false));
        if (r.code != 0) throw std::runtime_error("ip -n " + name_ + " " + args + ": " + r.err);
    }
    // `ip -j -n NAME ARGS` parsed.
    nlohmann::json ip_json(const std::string& args) const {
        RunResult r = run(ip_args(args, true));
        if (r.code != 0) throw std::runtime_error("ip -j -n " + name_ + " " + args + ": " + r.err);
        return nlohmann::json::parse(r.out.empty() ? "[]" : r.out);
    }
    // Every "local/prefixlen" on `dev`.
    std::vector<std::string> addresses(const std::string& dev) const {
        std::vector<std::string> out;
        for (const auto& l : ip_json("addr show dev " + dev))
            for (const auto& a : l["addr_info"])
                out.push_back(a["local"].get<std::string>() + "/" +
                              std::to_string(a["prefixlen"].get<int>()));
        return out;
    }
    bool has_address(const std::string& dev, const std::string& prefix) const {
        for (const auto& a : addresses(dev))
            if (a == prefix) return true;
        return false;
    }

  private:
    std::vector<std::string> ip_args(const std::string& args, bool json) const {
        std::vector<std::string> argv = {ip_binary()};
        if (json) argv.push_back("-j");
        argv.insert(argv.end(), {"-n", name_});
        std::string word;
        for (char c : args + " ") {
            if (c == ' ') {
                if (!word.empty()) argv.push_back(word);
                word.clear();
            } else {
                word += c;
            }
        }
        return argv;
    }
    std::string name_;
};

inline void write_text(const std::string& path, const std::string& text) {
    write_file_atomic(path, text);
}

inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// Polls `pred` (state with no event to wait on: the kernel's tables seen through
// iproute2) every 50 ms until it holds or the timeout passes.
inline bool eventually(const std::function<bool()>& pred, Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        ::usleep(50 * 1000);
    }
    return pred();
}

// `keel net` running inside a namespace, ready once it wrote its readiness line.
class NetDaemon {
  public:
    NetDaemon(const Netns& ns, std::vector<std::string> args) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        Fd r(p[0]), w(p[1]);
        std::vector<std::string> argv = {"net", "--ready-fd", "3"};
        argv.insert(argv.end(), args.begin(), args.end());
        Process::Spec spec{ns.keel(argv), std::nullopt, true, ""};
        spec.fd3 = w.get();
        proc_ = std::make_unique<Process>(spec);
        w.reset();
        pollfd pfd{r.get(), POLLIN, 0};
        char c = 0;
        if (::poll(&pfd, 1, static_cast<int>(slow(10s).count())) != 1 ||
            ::read(r.get(), &c, 1) != 1)
            throw std::runtime_error("keel net did not become ready:\n" + proc_->out());
    }
    ~NetDaemon() {
        if (proc_->running()) {
            proc_->signal(SIGTERM);
            auto st = proc_->wait_exit(slow(10s));
            if (!st || !st->exited_ok())
                ADD_FAILURE() << "keel net did not stop cleanly: "
                              << (st ? st->describe() : "still running");
        }
        if (::testing::Test::HasFailure())
            std::cerr << "----- keel net log -----\n" << proc_->out() << "----- end -----\n";
        for (const char* bad :
             {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
            if (proc_->out().find(bad) != std::string::npos)
                ADD_FAILURE() << "sanitizer report in the keel net log";
    }
    Process& process() { return *proc_; }
    std::string log() const { return proc_->out(); }

  private:
    std::unique_ptr<Process> proc_;
};

}  // namespace keel::it
