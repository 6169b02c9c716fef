// keel net: the network daemon; `keel net status|apply|confirm|monitor` talk to
// it (or, with --local/--once, to the kernel directly).
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "base/log.h"
#include "base/sys.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "loop/signal_watch.h"
#include "net/daemon.h"

namespace keel::cli {

int net_status_main(int argc, char** argv);
int net_monitor_main(int argc, char** argv);
int net_apply_main(int argc, char** argv);
int net_confirm_main(int argc, char** argv);
int net_dhcp_hook_main(int argc, char** argv);

namespace {

constexpr const char* kDefaultManifest = "/etc/keel/system.json";

std::vector<std::string> split_words(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = s.find(' ', i);
        if (j == std::string::npos) j = s.size();
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string self_path() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "keel";
    return std::string(buf, static_cast<size_t>(n));
}

int daemon_main(int argc, char** argv) {
    log::set_program("keel net");
    std::string config_file, manifest, resolv_conf = "/etc/resolv.conf", run_dir = "/run/keel/net",
                                       udhcpc;
    std::string sysctl_root = "/proc/sys/net";
    ConnectArgs conn;
    int64_t ready_fd = -1;
    bool verbose = false;
    Args args(
        "net", "[status|apply|confirm|monitor] ...",
        "Without a verb, runs the network daemon: applies the \"net\" section of the manifest (or\n"
        "--config), keeps configuring interfaces as they appear, runs DHCP clients, publishes\n"
        "net.link.*, net.addr.*, net.route.* and net.dhcp.* events, and answers net.status,\n"
        "net.apply and net.confirm.\n\n"
        "  keel net status [--local] [--json]     links, addresses, routes\n"
        "  keel net apply [--once] [--confirm SECONDS] [--dry-run] FILE\n"
        "  keel net confirm                       keep what the last --confirm apply did\n"
        "  keel net monitor [--local] [--json]    print net.* events\n"
        "Each has its own --help.");
    args.option("config", 'c', "FILE",
                "a JSON file holding just the net section (instead of the manifest)", &config_file);
    args.option("manifest", 'm', "FILE",
                "system manifest whose \"net\" key is the config [/etc/keel/system.json]",
                &manifest);
    args.option("resolv-conf", 0, "PATH", "where DNS settings are written [/etc/resolv.conf]",
                &resolv_conf);
    args.option("run-dir", 0, "DIR", "runtime files (the udhcpc script) [/run/keel/net]", &run_dir);
    args.option("udhcpc", 0, "COMMAND", "DHCP client command [udhcpc, else busybox udhcpc]",
                &udhcpc);
    args.option("sysctl-root", 0, "DIR", "where net sysctls live [/proc/sys/net]", &sysctl_root);
    args.option("ready-fd", 0, "FD",
                "write a newline to FD once configured and watching (s6-style readiness)",
                &ready_fd);
    args.flag("verbose", 'v', "log debug messages", &verbose);
    add_connect_options(args, &conn);
    args.epilog(
        "Signals: SIGHUP reloads the config; SIGTERM/SIGINT stop DHCP clients (releasing leases) "
        "and exit.\n"
        "Exit codes: 0 clean shutdown, 100 bad usage or configuration, 111 cannot reach the "
        "kernel.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (verbose) log::set_level(log::Level::kDebug);
    if (!config_file.empty() && !manifest.empty())
        return args.usage_error("--config and --manifest exclude each other");

    auto load = [&]() -> Result<std::optional<net::NetConfig>> {
        if (!config_file.empty())
            return std::optional<net::NetConfig>(KEEL_TRY(net::load_config_file(config_file)));
        return net::load_manifest(manifest.empty() ? kDefaultManifest : manifest,
                                  /*missing_ok=*/manifest.empty());
    };
    auto cfg = load();
    if (!cfg) {
        log::fatal("%s", cfg.error().message().c_str());
        return kExitUsage;
    }
    net::DaemonOptions o;
    o.config = std::move(*cfg);
    o.apply.resolv_conf = resolv_conf;
    o.apply.sysctl_root = sysctl_root;
    o.udhcpc = split_words(udhcpc);
    o.hook = run_dir + "/udhcpc-hook";
    if (!conn.server.empty()) {
        auto servers = bus::parse_server_list(conn.server);
        if (!servers) return args.usage_error(servers.error().message());
        o.bus.servers = *servers;
    }
    o.bus.user = conn.user;
    o.bus.pass = conn.password;
    o.bus.token = conn.token;
    o.bus.name = conn.name.empty() ? "keel-net" : conn.name;
    // Events while the bus is away wait here; beyond it they are dropped and counted.
    o.bus.reconnect_buffer = 1 << 20;
    const bool wants_dhcp =
        o.config && std::any_of(o.config->interfaces.begin(), o.config->interfaces.end(),
                                [](const net::InterfaceConfig& i) { return i.dhcp.enabled; });
    // Written even without DHCP configured, so a later net.apply turning it on finds it.
    Status hook = sys::make_dirs(run_dir, 0755);
    if (hook) hook = net::write_hook_script(o.hook, self_path());
    if (!hook && wants_dhcp) {
        log::fatal("%s", hook.error().message().c_str());
        return kExitTemporary;
    }
    if (!hook) log::warning("%s (DHCP will not work)", hook.error().message().c_str());

    ::signal(SIGPIPE, SIG_IGN);
    auto loop = loop::EventLoop::create();
    if (!loop) {
        log::fatal("%s", loop.error().message().c_str());
        return kExitTemporary;
    }
    loop::SignalWatch signals;
    bool stopping = false;
    std::unique_ptr<net::NetDaemon> daemon;
    auto st = signals.start(**loop, {SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
        if (sig == SIGHUP) {
            auto again = load();
            if (!again)
                return log::error("reload: %s; keeping the current config",
                                  again.error().message().c_str());
            auto r = daemon->reload(again->value_or(net::NetConfig{}));
            if (!r) log::error("reload: %s", r.error().message().c_str());
            return;
        }
        if (stopping) return;
        stopping = true;
        log::info("shutting down (%s)", strsignal(sig));
        daemon->shutdown([&] { (*loop)->stop(); });
    });
    if (!st) {
        log::fatal("%s", st.error().message().c_str());
        return kExitTemporary;
    }
    auto d = net::NetDaemon::create(**loop, std::move(o));
    if (!d) {
        log::fatal("%s", d.error().message().c_str());
        return d.error().code() ? kExitTemporary : kExitUsage;
    }
    daemon = std::move(*d);
    signal_ready(ready_fd);
    if (auto r = (*loop)->run(); !r) {
        log::fatal("%s", r.error().message().c_str());
        return kExitTemporary;
    }
    daemon.reset();
    return kExitOk;
}

}  // namespace

int net_main(int argc, char** argv) {
    if (argc > 1) {
        const std::string verb = argv[1];
        if (verb == "status") return net_status_main(argc - 1, argv + 1);
        if (verb == "monitor") return net_monitor_main(argc - 1, argv + 1);
        if (verb == "apply") return net_apply_main(argc - 1, argv + 1);
        if (verb == "confirm") return net_confirm_main(argc - 1, argv + 1);
        if (verb == "dhcp-hook") return net_dhcp_hook_main(argc - 1, argv + 1);
        if (verb[0] != '-') {
            std::fprintf(stderr, "keel net: unknown verb '%s' (status, apply, confirm, monitor)\n",
                         verb.c_str());
            return kExitUsage;
        }
    }
    return daemon_main(argc, argv);
}

}  // namespace keel::cli
