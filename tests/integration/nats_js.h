// The official NATS client (nats.js, npm `nats`, pinned in nats_client/) driven
// from the integration tests, so a real third-party client observes what keel
// publishes: `node nats_client/client.mjs URL watch SUBJECTS...` prints every
// message as one JSON line {subject, data, headers}; `... request SUBJECT DATA`
// prints the reply.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace keel::it {

inline std::string node_path() {
    for (const char* p : {"/usr/bin/node", "/usr/local/bin/node"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

inline std::string nats_client_dir() {
    return source_file("tests/integration/nats_client");
}

// What keeps nats.js from being used here, or nothing. scripts/test-clients
// installs it (a set-up step of make test); a test never runs npm itself.
inline std::optional<Missing> nats_client_missing() {
    if (node_path().empty())
        return Missing{"node", "node is not installed (apt-get install nodejs npm)"};
    namespace fs = std::filesystem;
    const std::string dir = nats_client_dir();
    std::error_code ec;
    auto installed = fs::last_write_time(dir + "/node_modules/.package-lock.json", ec);
    if (ec || !fs::exists(dir + "/node_modules/nats/package.json") ||
        installed < fs::last_write_time(dir + "/package-lock.json", ec))
        return Missing{"nats.js", dir +
                                      "/node_modules is missing or older than its lockfile: run "
                                      "scripts/test-clients (make test does)"};
    return std::nullopt;
}

// `node client.mjs URL watch SUBJECTS...`: every message as {subject, data, headers}.
class NatsWatcher {
  public:
    NatsWatcher(const std::string& url, std::vector<std::string> subjects) {
        std::vector<std::string> argv = {node_path(), nats_client_dir() + "/client.mjs", url,
                                         "watch"};
        argv.insert(argv.end(), subjects.begin(), subjects.end());
        proc_ = std::make_unique<Process>(Process::Spec{argv});
        if (!proc_->wait_output("READY\n", slow(15s)))
            throw std::runtime_error("nats.js watcher did not subscribe: " + proc_->err());
    }
    std::vector<nlohmann::json> messages() const {
        std::vector<nlohmann::json> out;
        std::istringstream in(proc_->out());
        for (std::string line; std::getline(in, line);)
            if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
        return out;
    }
    std::vector<std::string> subjects() const {
        std::vector<std::string> out;
        for (const auto& m : messages())
            out.push_back(m["subject"]);
        return out;
    }
    // The first message on `subject` at or after index `from`.
    std::optional<nlohmann::json> wait_for(const std::string& subject, Ms timeout,
                                           size_t from = 0) const {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            auto all = messages();
            for (size_t i = from; i < all.size(); ++i)
                if (all[i]["subject"] == subject) return all[i];
            if (Clock::now() > deadline) return std::nullopt;
            proc_->wait_output("\n", Ms(50), false, proc_->out().size());
        }
    }
    size_t count() const { return messages().size(); }
    // Waits until more than `seen` messages have arrived; false on timeout.
    bool wait_more(size_t seen, Ms timeout) const {
        auto deadline = Clock::now() + timeout;
        while (count() <= seen) {
            if (Clock::now() > deadline) return false;
            proc_->wait_output("\n", Ms(50), false, proc_->out().size());
        }
        return true;
    }
    std::string err() const { return proc_->err(); }

  private:
    std::unique_ptr<Process> proc_;
};

inline std::string nats_request(const std::string& url, const std::string& subject,
                                const std::string& data) {
    Process p(Process::Spec{
        {node_path(), nats_client_dir() + "/client.mjs", url, "request", subject, data}});
    auto st = p.wait_exit(slow(15s));
    if (!st || !st->exited_ok()) throw std::runtime_error("nats.js request failed: " + p.err());
    return p.out();
}

}  // namespace keel::it
