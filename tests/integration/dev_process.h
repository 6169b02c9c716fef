// keel dev in the integration tests: the daemon as a child process on a test
// bus, and the official NATS client watching what it publishes.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/nats_js.h"

namespace keel::it {

// The official NATS client (nats_js.h) subscribed to subjects; each message as
// {subject, data} with JSON payloads parsed.
class JsonWatcher {
  public:
    JsonWatcher(const std::string& url, std::vector<std::string> subjects)
        : nats_(url, std::move(subjects)) {}
    // Messages so far.
    std::vector<nlohmann::json> messages() const {
        std::vector<nlohmann::json> out = nats_.messages();
        for (auto& m : out)
            if (m["data"].is_string())
                if (auto j = nlohmann::json::parse(m["data"].get<std::string>(), nullptr, false);
                    !j.is_discarded())
                    m["data"] = std::move(j);
        return out;
    }
    // Waits until `pred` holds for at least `n` messages; returns those.
    std::vector<nlohmann::json> wait(const std::function<bool(const nlohmann::json&)>& pred,
                                     size_t n, Ms timeout) const {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            std::vector<nlohmann::json> hits;
            for (auto& m : messages())
                if (pred(m)) hits.push_back(std::move(m));
            if (hits.size() >= n || Clock::now() >= deadline) return hits;
            auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
            nats_.wait_more(nats_.count(), std::min(left, Ms(200)));
        }
    }
    std::optional<nlohmann::json> wait_one(const std::function<bool(const nlohmann::json&)>& pred,
                                           Ms timeout = slow(10s)) const {
        auto hits = wait(pred, 1, timeout);
        if (hits.empty()) return std::nullopt;
        return hits[0];
    }

  private:
    NatsWatcher nats_;
};

// `keel dev ...` (optionally wrapped, e.g. in `ip netns exec NS`), ready once
// connected to the bus and (if on) coldplug is done. Unless the test gives --dev,
// links and rule effects go to a directory of the test's own, not the host's /dev.
class DevProcess {
  public:
    DevProcess(const BusProcess& bus, std::vector<std::string> extra,
               std::vector<std::string> wrapper = {}) {
        std::vector<std::string> argv = wrapper;
        argv.push_back(KEEL_BIN);
        argv.push_back("dev");
        argv.push_back("--server");
        argv.push_back(bus.unix_url());
        if (std::find(extra.begin(), extra.end(), "--dev") == extra.end()) {
            argv.push_back("--dev");
            argv.push_back(devdir_.path());
        }
        for (auto& e : extra)
            argv.push_back(std::move(e));
        proc_ = std::make_unique<Process>(Process::Spec{argv, std::nullopt, false, ""});
        if (!proc_->wait_output("bus connected", slow(10s), true))
            throw std::runtime_error("keel dev did not connect:\n" + proc_->err());
    }
    // Stops it: a clean exit (0) after SIGTERM, or a failure with its log (under
    // the sanitizers this is where a leak or a memory error shows).
    ~DevProcess() {
        if (!proc_->running()) {
            ADD_FAILURE() << "keel dev died during the test:\n" << proc_->err();
            return;
        }
        proc_->signal(SIGTERM);
        auto st = proc_->wait_exit(slow(10s));
        if (!st || !st->exited_ok())
            ADD_FAILURE() << "keel dev did not stop cleanly (" << (st ? st->describe() : "timeout")
                          << "):\n"
                          << proc_->err();
    }
    Process& proc() { return *proc_; }
    std::string err() const { return proc_->err(); }

  private:
    TempDir devdir_;
    std::unique_ptr<Process> proc_;
};

}  // namespace keel::it
