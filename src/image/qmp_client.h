// A QEMU Machine Protocol client over QEMU's unix socket: the greeting and
// capabilities negotiation, commands with ids, asynchronous events queued
// until asked for, errors returned as Errors. Synchronous (one command in
// flight): its users are the boot runner's shutdown path and scripts/tests.
#pragma once

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace keel::image {

// Splits QMP's byte stream (one JSON object per line) into messages. A pure
// state machine: feed any split of the stream, get the same messages.
class QmpReader {
  public:
    // Appends bytes; returns the complete messages they finish. A line that is
    // not a JSON object is an Error naming it (the stream is then unusable).
    Result<std::vector<nlohmann::json>> feed(std::string_view bytes);

  private:
    std::string partial_;
};

class QmpClient {
  public:
    using Ms = std::chrono::milliseconds;

    // Connects, reads the greeting and enters command mode (qmp_capabilities).
    static Result<QmpClient> connect(const std::string& socket_path, Ms timeout = Ms(5000));

    // Runs a command; its "return" value, or an Error with QEMU's class and description.
    Result<nlohmann::json> execute(const std::string& command,
                                   const nlohmann::json& arguments = nlohmann::json::object(),
                                   Ms timeout = Ms(10000));
    // The next event (queued while commands ran, or read now); nothing on timeout.
    std::optional<nlohmann::json> next_event(Ms timeout);
    // Waits for an event named `name` ("": any; others stay queued); nothing on timeout.
    std::optional<nlohmann::json> wait_event(const std::string& name, Ms timeout);

    // A USB mass-storage device on the xhci controller backed by `image` (raw).
    Status add_usb_storage(const std::string& id, const std::string& image, bool read_only = false);
    // Unplugs it (waits for DEVICE_DELETED) and removes its block node.
    Status remove_usb_storage(const std::string& id, Ms timeout = Ms(10000));
    Status system_powerdown();
    Status quit();

  private:
    explicit QmpClient(Fd fd) : fd_(std::move(fd)) {}
    // Reads one more message into `ready_`; false on timeout, Error on EOF/garbage.
    Result<bool> read_message(std::chrono::steady_clock::time_point deadline);

    Fd fd_;
    QmpReader reader_;
    std::deque<nlohmann::json> ready_;   // messages read, not yet consumed
    std::deque<nlohmann::json> events_;  // events set aside while waiting for a reply
    uint64_t next_id_ = 1;
};

}  // namespace keel::image
