// keel net apply FILE / keel net confirm: hand a config to the daemon (optionally
// commit-confirmed), or apply it here and now with --once (early boot, no daemon).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/sys.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "net/apply.h"

namespace keel::cli {
namespace {

using nlohmann::json;

// FILE holds the net section, or a whole manifest whose "net" key is taken.
Result<json> read_section(const std::string& file) {
    auto text = file == "-" ? sys::read_all(0) : sys::read_file(file);
    if (!text) return text.error();
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) {
        auto cfg = net::parse_config_text(*text, file);  // for the parser's position
        return cfg ? Error(file + ": not valid JSON") : cfg.error();
    }
    if (j.is_object() && j.contains("net")) return j["net"];
    return j;
}

void print_report(const json& r, bool as_json, bool dry_run) {
    if (as_json) {
        std::printf("%s\n", r.dump(2).c_str());
        return;
    }
    const auto changes = r.value("changes", json::array());
    for (const auto& c : changes)
        std::printf("%s%s\n", dry_run ? "would " : "", c.get<std::string>().c_str());
    if (changes.empty() && r.value("errors", json::array()).empty()) std::printf("no changes\n");
    for (const auto& m : r.value("missing", json::array()))
        std::fprintf(stderr,
                     "keel net apply: interface %s is not here; configured when it appears\n",
                     m.get<std::string>().c_str());
    for (const auto& e : r.value("errors", json::array()))
        std::fprintf(stderr, "keel net apply: %s\n", e.get<std::string>().c_str());
}

// Sends a request to the daemon and returns its JSON answer.
Result<json> ask(const ConnectArgs& conn, const char* subject, const std::string& body,
                 std::chrono::nanoseconds timeout) {
    auto bus = KEEL_TRY(BusConnection::open(conn));
    bool done = false;
    Result<json> answer = Error("no answer");
    bus->client().request(subject, body, timeout, [&](Result<bus::OwnedMessage> r) {
        done = true;
        if (!r) {
            answer = Error(r.error().message() + " on " + subject + ": is `keel net` running?");
            return;
        }
        json j = json::parse(r->data, nullptr, false);
        if (j.is_discarded())
            answer = Error(std::string(subject) + " answered with something not JSON");
        else
            answer = j;
    });
    KEEL_TRY_STATUS(bus->run_until([&] { return done; }));
    bus->client().close();
    return answer;
}

}  // namespace

int net_apply_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string file, resolv_conf = "/etc/resolv.conf", sysctl_root = "/proc/sys/net";
    bool once = false, dry_run = false, as_json = false;
    double confirm = 0;
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
    Args args("net apply", "FILE",
              "Makes the network match FILE (the net section, or a manifest with a \"net\" key;\n"
              "- for standard input): only what differs is changed, only configured interfaces\n"
              "are touched, and every change is printed.");
    args.positional("FILE", "config file", &file, true);
    args.flag("once", '1', "apply here and now through rtnetlink, without the daemon (early boot)",
              &once);
    args.option("confirm", 0, "SECONDS", "revert unless `keel net confirm` follows within SECONDS",
                &confirm);
    args.flag("dry-run", 'n', "print what would change, change nothing", &dry_run);
    args.flag("json", 'j', "print the report as JSON {ok, changes, errors, missing}", &as_json);
    args.option("resolv-conf", 0, "PATH", "with --once: where DNS settings go [/etc/resolv.conf]",
                &resolv_conf);
    args.option("sysctl-root", 0, "DIR", "with --once: where net sysctls live [/proc/sys/net]",
                &sysctl_root);
    args.duration_option("timeout", "how long to wait for the daemon's answer [10s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 applied, 1 refused or partly failed (nothing changed when the config does "
        "not\n"
        "fit, e.g. a missing interface), 100 bad usage or invalid config, 111 bus or kernel "
        "unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (confirm < 0 || confirm > 86400)
        return args.usage_error("--confirm takes 1 to 86400 seconds");
    if (once && confirm > 0)
        return args.usage_error("--confirm needs the daemon (it does the revert); drop --once");

    auto section = read_section(file);
    if (!section) return fail("net apply", section.error().message(), kExitUsage);
    auto cfg = net::parse_config(*section, file == "-" ? "stdin" : file);
    if (!cfg) return fail("net apply", cfg.error().message(), kExitUsage);

    json report;
    if (once) {
        auto rtnl = net::Rtnl::open();
        if (!rtnl) return fail("net apply", rtnl.error().message(), kExitTemporary);
        net::ApplyOptions o;
        o.dry_run = dry_run;
        o.resolv_conf = resolv_conf;
        o.sysctl_root = sysctl_root;
        auto r = net::apply_config(*rtnl, *cfg, nullptr, o);
        if (!r) return fail("net apply", r.error().message(), kExitNo);
        report = r->to_json();
    } else {
        json body = {{"config", *section}, {"dry_run", dry_run}};
        if (confirm > 0) body["confirm_within"] = confirm;
        auto r = ask(conn, "net.apply", body.dump(), timeout);
        if (!r)
            return fail("net apply", r.error().message(),
                        r.error().what().find("cannot connect") == 0 ? kExitTemporary : kExitNo);
        report = std::move(*r);
        if (report.contains("error"))
            return fail("net apply", report["error"].get<std::string>(), kExitNo);
    }
    print_report(report, as_json, dry_run);
    if (!as_json && confirm > 0 && report.value("ok", false))
        std::fprintf(stderr, "keel net apply: run `keel net confirm` within %g s or this reverts\n",
                     confirm);
    return report.value("ok", false) ? kExitOk : kExitNo;
}

int net_confirm_main(int argc, char** argv) {
    ConnectArgs conn;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("net confirm", "",
              "Keeps the config of the last `keel net apply --confirm` (stops its revert).");
    args.duration_option("timeout", "how long to wait for the daemon [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 confirmed, 1 nothing to confirm or no answer, 111 bus unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto r = ask(conn, "net.confirm", "", timeout);
    if (!r)
        return fail("net confirm", r.error().message(),
                    r.error().what().find("cannot connect") == 0 ? kExitTemporary : kExitNo);
    if (!r->value("ok", false))
        return fail("net confirm", r->value("error", std::string("refused")), kExitNo);
    std::printf("confirmed\n");
    return kExitOk;
}

}  // namespace keel::cli
