// DevDaemon: `keel dev`. Kernel uevents (and coldplug, and a rescan after the
// kernel's queue overflowed) become `hardware.<subsystem>.<action>` messages;
// on the way each device is enriched, its rules applied (mode, owner, links,
// commands, extra subjects), its firmware served and its MODALIAS handed to the
// module worker; input devices with a power, reboot or sleep key are watched
// (ButtonWatcher). Answers dev.list, dev.info and dev.status.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/client/client.h"
#include "dev/button_watcher.h"
#include "dev/dev_config.h"
#include "dev/links.h"
#include "dev/module_worker.h"
#include "dev/runner.h"
#include "dev/sysfs.h"
#include "dev/uevent_socket.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"

namespace keel::dev {

struct DaemonOptions {
    std::string sysfs_root = "/sys";
    std::string dev_root = "/dev";
    std::string kernel_release;  // for the module dir and firmware; empty: uname -r
    int receive_buffer = 16 << 20;
    bool coldplug = true;
    bool listen = true;  // false: coldplug only (`--once`)
};

struct DaemonStats {
    uint64_t kernel_events = 0, coldplug_events = 0, resync_events = 0;
    uint64_t published = 0, publish_errors = 0;
    uint64_t rejected = 0, malformed = 0, overflows = 0;
    uint64_t modules_loaded = 0, modules_failed = 0, module_queue_dropped = 0;
    uint64_t firmware_served = 0, firmware_missing = 0;
    uint64_t rule_errors = 0;
};

class DevDaemon {
  public:
    // `loop` and `bus` must outlive the daemon; the daemon sets no handlers on `bus`
    // other than its request subscriptions.
    static Result<std::unique_ptr<DevDaemon>> create(loop::EventLoop& loop, bus::Client& bus,
                                                     DaemonOptions opts, DevConfig cfg);
    ~DevDaemon();

    // Opens the uevent socket (unless !listen), then runs coldplug.
    Status start();
    // Rescans /sys and announces what appeared or disappeared unseen.
    void resync();
    // New rules, default links, firmware and button settings (SIGHUP); module
    // settings keep their start-up values.
    void reload(DevConfig cfg);
    // Returns the memory a burst (coldplug, resync, a drained bus backlog) left
    // behind to the system.
    void release_memory();
    const DaemonStats& stats() const { return stats_; }
    // Module requests still being worked on (`--once` waits for them).
    size_t modules_pending() const { return modules_ ? modules_->outstanding() : 0; }
    std::string status_json() const;

  private:
    DevDaemon(loop::EventLoop& loop, bus::Client& bus, DaemonOptions opts, DevConfig cfg);
    void on_readable();
    void on_message(std::string_view data);
    // Everything one event goes through; `source` is "kernel", "coldplug" or "resync".
    void handle(Device dev, const char* source);
    void apply_node(const Device& dev, const RuleResult& r);
    // DEVLINKS: the device's links as absolute paths, space-separated (as udev).
    void add_devlinks(Device& dev) const;
    void publish(const std::string& subject, const std::string& payload);
    // Answers a request (not counted as a published event).
    void reply(const bus::Message& m, const std::string& payload);
    void on_module_result(const ModuleWorker::Job& job, ModuleLoader::AliasResult&& r);
    void answer_list(const bus::Message& m);
    void answer_info(const bus::Message& m);

    loop::EventLoop& loop_;
    bus::Client& bus_;
    DaemonOptions opts_;
    DevConfig cfg_;
    Sysfs sysfs_;
    LinkManager links_;
    Runner runner_;
    std::unique_ptr<UeventSocket> socket_;
    loop::FdWatch watch_;
    std::unique_ptr<ModuleWorker> modules_;
    ButtonWatcher buttons_;
    std::string modules_note_;  // why module loading is off, for dev.status
    std::vector<std::string> firmware_dirs_;
    UeventView view_;  // reused across messages

    // What resync compares against: every device announced and not yet removed.
    std::unordered_map<std::string, std::string> known_;  // devpath -> subsystem
    // Enrichment kept for remove events (sysfs is gone by then): devpath -> ID_*.
    std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> enriched_;
    std::set<std::string> unmatched_;                      // modaliases no module matched (bounded)
    std::vector<std::string> loaded_, failed_, resolved_;  // recent module names (bounded)
    DaemonStats stats_;
};

}  // namespace keel::dev
