// keel dev: the device manager daemon; `keel dev list|info|status|monitor|trigger`
// are its client verbs (dev_query.cpp, dev_monitor.cpp, dev_trigger.cpp).
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <functional>

#include "base/log.h"
#include "bus/client/client.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "dev/dev_config.h"
#include "dev/dev_daemon.h"
#include "loop/event_loop.h"
#include "loop/signal_watch.h"
#include "loop/timer.h"

namespace keel::cli {

int dev_list_main(int argc, char** argv);
int dev_info_main(int argc, char** argv);
int dev_status_main(int argc, char** argv);
int dev_monitor_main(int argc, char** argv);
int dev_trigger_main(int argc, char** argv);

namespace {

constexpr const char* kDefaultManifest = "/etc/keel/system.json";

struct SubVerb {
    const char* name;
    int (*fn)(int, char**);
};
constexpr SubVerb kSubVerbs[] = {
    {"list", dev_list_main},       {"info", dev_info_main},       {"status", dev_status_main},
    {"monitor", dev_monitor_main}, {"trigger", dev_trigger_main},
};

}  // namespace

int dev_main(int argc, char** argv) {
    if (argc > 1)
        for (const auto& v : kSubVerbs)
            if (std::strcmp(argv[1], v.name) == 0) return v.fn(argc - 1, argv + 1);
    log::set_program("keel dev");

    ConnectArgs conn;
    std::string config_file, manifest, modules_dir, release;
    dev::DaemonOptions o;
    int64_t receive_buffer = o.receive_buffer, bus_buffer = 1 << 20, ready_fd = -1;
    bool no_coldplug = false, no_modules = false, once = false, verbose = false;
    Args args(
        "dev", "[list|info|status|monitor|trigger ...]",
        "Runs the device manager: kernel uevents become hardware.<subsystem>.<action> bus\n"
        "messages; coldplug at start; modules loaded by MODALIAS; device rules (mode, owner,\n"
        "links, commands) from the manifest. See docs/dev.md.\n\n"
        "  keel dev list [--subsystem S]   devices and their properties (dev.list)\n"
        "  keel dev info DEVPATH|/dev/X    one device (dev.info)\n"
        "  keel dev status                 the daemon's counters (dev.status)\n"
        "  keel dev monitor                print hardware.* events as they happen\n"
        "  keel dev trigger                make the kernel resend events (like udevadm trigger)");
    args.option("config", 'c', "FILE",
                "rules and settings: a file holding the manifest's \"dev\" section", &config_file);
    args.option(
        "manifest", 'm', "FILE",
        "system manifest to take the \"dev\" section from [/etc/keel/system.json if present]",
        &manifest);
    args.option("modules-dir", 0, "DIR", "module tree to load from [/lib/modules/$(uname -r)]",
                &modules_dir);
    args.option("kernel-release", 0, "RELEASE",
                "use /lib/modules/RELEASE and its firmware directories [uname -r]", &release);
    args.option("sysfs", 0, "DIR", "sysfs mount [/sys]", &o.sysfs_root);
    args.option("dev", 0, "DIR", "device directory (devtmpfs) [/dev]", &o.dev_root);
    args.size_option("receive-buffer", "kernel queue for uevents (SO_RCVBUFFORCE) [16MiB]",
                     &receive_buffer);
    args.size_option("bus-buffer",
                     "messages kept while the bus is down; beyond, dropped and counted [1MiB]",
                     &bus_buffer);
    args.flag("no-coldplug", 0, "do not announce the devices already present at start",
              &no_coldplug);
    args.flag("no-modules", 0, "do not load modules", &no_modules);
    args.flag("once", 0,
              "coldplug, deliver to the bus, wait for module loading, exit (like mdev -s)", &once);
    args.option("ready-fd", 0, "FD",
                "write a newline to FD once coldplug is done (s6-style readiness)", &ready_fd);
    args.flag("verbose", 'v', "log every event and module lookup", &verbose);
    add_connect_options(args, &conn);
    args.epilog(
        "Signals: SIGTERM/SIGINT stop it; SIGHUP reloads the rules; SIGUSR1 rescans /sys.\n"
        "Exit codes: 0 stopped, 100 bad usage or configuration, 111 cannot open the uevent socket\n"
        "or read /sys.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (verbose) log::set_level(log::Level::kDebug);
    if (receive_buffer < 4096 || receive_buffer > (1 << 30))
        return args.usage_error("--receive-buffer must be 4KiB..1GiB");
    if (bus_buffer < 0) return args.usage_error("--bus-buffer must not be negative");
    o.receive_buffer = static_cast<int>(receive_buffer);
    o.coldplug = !no_coldplug;
    o.listen = !once;
    o.kernel_release = release;

    // Where the configuration comes from; read again on SIGHUP.
    auto load_config = [&, explicit_manifest = !manifest.empty()]() -> Result<dev::DevConfig> {
        if (!config_file.empty()) return dev::load_dev_config(config_file);
        std::string path = explicit_manifest ? manifest : kDefaultManifest;
        struct stat st;
        if (explicit_manifest || ::stat(path.c_str(), &st) == 0) return dev::load_manifest(path);
        return dev::DevConfig{};
    };
    auto cfg = load_config();
    if (!cfg) {
        log::fatal("cannot load the configuration: %s", cfg.error().message().c_str());
        return kExitUsage;
    }
    if (!modules_dir.empty()) cfg->modules.dir = modules_dir;
    if (no_modules) cfg->modules_enabled = false;

    ::signal(SIGPIPE, SIG_IGN);
    // One malloc arena for the module worker thread too: a second arena would keep
    // its own dirty pages for the life of the daemon.
    ::mallopt(M_ARENA_MAX, 1);
    auto loop = loop::EventLoop::create();
    if (!loop) {
        log::fatal("%s", loop.error().message().c_str());
        return kExitTemporary;
    }
    bus::ClientOptions co;
    if (!conn.server.empty()) {
        auto servers = bus::parse_server_list(conn.server);
        if (!servers) return args.usage_error(servers.error().message());
        co.servers = std::move(*servers);
    }
    co.user = conn.user;
    co.pass = conn.password;
    co.token = conn.token;
    co.name = conn.name.empty() ? "keel-dev" : conn.name;
    co.retry_on_failed_connect = !once;  // the daemon waits for the bus; --once does not
    co.reconnect_buffer = static_cast<size_t>(bus_buffer);
    bus::Client client(**loop, co);
    std::unique_ptr<dev::DevDaemon> daemon;
    // Ready (s6-style) once coldplug has reached the bus, or once the bus is known
    // to be down (events are then kept up to --bus-buffer).
    bool ready_sent = false;
    auto ready = [&] {
        if (ready_sent || once) return;
        ready_sent = true;
        signal_ready(ready_fd);
    };
    bool lost_logged = false;
    client.on_event([&](bus::ClientEvent e, std::string_view detail) {
        if (e == bus::ClientEvent::kConnected || e == bus::ClientEvent::kReconnected) {
            log::info("bus %s: %s", e == bus::ClientEvent::kConnected ? "connected" : "reconnected",
                      client.endpoint().to_string().c_str());
            lost_logged = false;
            // What was buffered meanwhile is on its way; once the bus has it, the
            // buffers' memory can go back.
            client.flush(std::chrono::seconds(5), [&](Status) {
                ready();
                if (daemon) daemon->release_memory();
            });
        } else if ((e == bus::ClientEvent::kDisconnected || e == bus::ClientEvent::kError) &&
                   !lost_logged) {
            log::warning(
                "bus unavailable (%.*s): events are kept up to --bus-buffer, then dropped and "
                "counted",
                static_cast<int>(detail.size()), detail.data());
            lost_logged = true;
            ready();
        }
    });
    client.connect();

    if (auto d = dev::DevDaemon::create(**loop, client, o, std::move(*cfg)); d) {
        daemon = std::move(*d);
    } else {
        log::fatal("%s", d.error().message().c_str());
        return kExitTemporary;
    }
    loop::SignalWatch signals;
    bool stop = false;
    auto sst = signals.start(**loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int sig) {
        if (sig == SIGHUP) {
            auto fresh = load_config();
            if (!fresh) {
                log::error("reload failed, keeping the old rules: %s",
                           fresh.error().message().c_str());
                return;
            }
            daemon->reload(std::move(*fresh));
            return;
        }
        if (sig == SIGUSR1) {
            log::info("SIGUSR1: rescanning /sys");
            daemon->resync();
            return;
        }
        stop = true;
        (*loop)->stop();
    });
    if (!sst) {
        log::fatal("%s", sst.error().message().c_str());
        return kExitTemporary;
    }
    if (auto st = daemon->start(); !st) {
        log::fatal("%s", st.error().message().c_str());
        return kExitTemporary;
    }

    if (once) {
        // Finish module work, then deliver everything published (when there is a bus).
        auto run_while = [&](const std::function<bool()>& pending) {
            while (!stop && pending())
                if (auto st = (*loop)->run_once(std::chrono::milliseconds(-1)); !st) return;
        };
        run_while([&] { return daemon->modules_pending() > 0; });
        run_while([&] { return !client.connected() && !client.closed(); });
        bool flushed = false, answered = false;
        if (client.connected()) {
            client.flush(std::chrono::seconds(5), [&](Status st) {
                flushed = st.ok();
                answered = true;
            });
            run_while([&] { return !answered && !client.closed(); });
        }
        if (!flushed)
            log::warning("no bus: %llu events not delivered",
                         static_cast<unsigned long long>(daemon->stats().published));
        signal_ready(ready_fd);
        client.close();
        return kExitOk;
    }

    if (auto r = (*loop)->run(); !r) {
        log::fatal("%s", r.error().message().c_str());
        return kExitTemporary;
    }
    log::info("stopping (%llu kernel events, %llu published, %llu dropped while the bus was down)",
              static_cast<unsigned long long>(daemon->stats().kernel_events),
              static_cast<unsigned long long>(daemon->stats().published),
              static_cast<unsigned long long>(client.dropped()));
    return kExitOk;
}

}  // namespace keel::cli
