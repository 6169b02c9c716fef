// The manifest's "services" and "hostname": what is accepted, and that every
// rejection names the JSON path and the cause.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "init/manifest/json_fields.h"
#include "init/manifest/manifest.h"

namespace keel::init {
namespace {

using namespace std::chrono_literals;

Result<Manifest> parse(const std::string& services, const std::string& extra = "") {
    return parse_manifest("{" + extra + "\"services\": " + services + "}", "m.json");
}

std::string error_of(const std::string& services) {
    auto r = parse(services);
    return r ? std::string("(accepted)") : r.error().message();
}

TEST(Manifest, FullServiceParses) {
    auto m = parse(R"([
      {"name": "web", "argv": ["httpd", "-f"], "env": {"A": "1"}, "cwd": "/srv", "user": "nobody",
       "group": "nogroup", "groups": ["nogroup"], "umask": "027", "type": "longrun", "depends": ["db"],
       "wants_facts": ["net.link.eth0.up", {"on": "hardware.block.add", "off": "hardware.block.remove",
                                             "match": {"DEVNAME": "sdb1"}}],
       "readiness": "tcp:8080", "ready_timeout": "5s", "restart": "on-failure", "restart_delay": "50ms",
       "restart_delay_max": 10, "healthy_after": "2m", "restart_limit": 7, "stop_signal": "SIGINT",
       "stop_timeout": "1500ms", "log": {"ring": "16KiB", "file": true, "file_max": "1MiB", "file_keep": 2},
       "rlimits": {"nofile": 1024, "core": [0, "unlimited"]}, "no_new_privs": true,
       "capabilities": {"bounding": ["CAP_NET_BIND_SERVICE", "net_raw"], "ambient": ["cap_net_bind_service"]},
       "cgroup": {"memory_max": "64MiB", "pids_max": 32}},
      {"name": "db", "argv": ["/usr/bin/db"], "type": "oneshot", "readiness": "notify:5"}
    ])",
                   "\"hostname\": \"box\", \"net\": {\"anything\": true}, ");
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->hostname, "box");
    ASSERT_EQ(m->services.size(), 2u);
    EXPECT_EQ(m->services[0].name, "db");  // dependencies first
    const ServiceSpec& w = m->services[1];
    EXPECT_EQ(w.argv, (std::vector<std::string>{"httpd", "-f"}));
    EXPECT_EQ(w.env[0], (std::pair<std::string, std::string>{"A", "1"}));
    EXPECT_EQ(*w.umask, 027u);
    ASSERT_EQ(w.wants_facts.size(), 2u);
    EXPECT_EQ(w.wants_facts[0].off, "net.link.eth0.down");
    EXPECT_EQ(w.wants_facts[1].match.at("DEVNAME"), "sdb1");
    EXPECT_EQ(w.readiness.kind, Readiness::Kind::kTcp);
    EXPECT_EQ(w.readiness.port, 8080);
    EXPECT_EQ(w.ready_timeout, 5s);
    EXPECT_EQ(w.restart, RestartPolicy::kOnFailure);
    EXPECT_EQ(w.restart_delay, 50ms);
    EXPECT_EQ(w.restart_delay_max, 10s);
    EXPECT_EQ(w.healthy_after, 120s);
    EXPECT_EQ(w.restart_limit, 7);
    EXPECT_EQ(w.stop_signal, SIGINT);
    EXPECT_EQ(w.stop_timeout, 1500ms);
    EXPECT_EQ(w.log.ring_bytes, 16384u);
    EXPECT_TRUE(w.log.file);
    EXPECT_EQ(w.log.file_keep, 2);
    ASSERT_EQ(w.rlimits.size(), 2u);
    EXPECT_EQ(w.rlimits[0].resource, RLIMIT_CORE);  // object keys come sorted
    EXPECT_EQ(w.rlimits[0].hard, RLIM_INFINITY);
    EXPECT_TRUE(w.no_new_privs);
    EXPECT_EQ(w.cap_bounding->size(), 2u);
    EXPECT_EQ(w.cap_ambient, std::vector<int>{10});  // CAP_NET_BIND_SERVICE
    EXPECT_EQ(*w.memory_max, 64u << 20);
    EXPECT_EQ(*w.pids_max, 32u);
    EXPECT_EQ(m->services[0].readiness.notify_fd, 5);
    EXPECT_EQ(m->services[0].restart, RestartPolicy::kNever);  // oneshot default
}

TEST(Manifest, DefaultsAndNoServices) {
    auto m = parse_manifest("{\"dev\": {}}", "m.json");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->services.empty());
    m = parse(R"([{"name": "a", "argv": ["true"]}])");
    ASSERT_TRUE(m);
    const auto& s = m->services[0];
    EXPECT_EQ(s.type, ServiceType::kLongrun);
    EXPECT_EQ(s.restart, RestartPolicy::kAlways);
    EXPECT_EQ(s.readiness.kind, Readiness::Kind::kStarted);
    EXPECT_EQ(s.stop_signal, SIGTERM);
    EXPECT_EQ(s.cwd, "/");
}

TEST(Manifest, ErrorsNameThePath) {
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "restrat": "always"}])"),
              "m.json: $.services[0].restrat: unknown key");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": "x"}])"),
              "m.json: $.services[0].argv: expected an array of strings");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": []}])"),
              "m.json: $.services[0].argv: must name a program");
    EXPECT_EQ(error_of(R"([{"argv": ["x"]}])"), "m.json: $.services[0]: missing \"name\"");
    EXPECT_EQ(error_of(R"([{"name": "a.b", "argv": ["x"]}])"),
              "m.json: $.services[0].name: \"a.b\" must be 1-64 of [A-Za-z0-9_-]");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"]}, {"name": "a", "argv": ["y"]}])"),
              "m.json: $.services[1].name: duplicate service 'a'");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "restart": "sometimes"}])"),
              "m.json: $.services[0].restart: expected \"always\", \"on-failure\" or \"never\"");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "log": {"rign": 1}}])"),
              "m.json: $.services[0].log.rign: unknown key");
    EXPECT_EQ(
        error_of(R"([{"name": "a", "argv": ["x"], "capabilities": {"ambient": ["cap_flying"]}}])"),
        "m.json: $.services[0].capabilities.ambient: unknown capability 'cap_flying'");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "rlimits": {"nofiles": 3}}])"),
              "m.json: $.services[0].rlimits.nofiles: unknown resource limit");
    EXPECT_EQ(
        error_of(R"([{"name": "a", "argv": ["x"], "stop_signal": "SIGNOPE"}])"),
        "m.json: $.services[0].stop_signal: expected a signal such as \"SIGTERM\" or \"HUP\"");
    EXPECT_NE(error_of(R"([{"name": "a", "argv": ["x"], "wants_facts": ["net.link.eth0"]}])")
                  .find("$.services[0].wants_facts[0]: \"net.link.eth0\" is not a fact subject"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name": "a", "argv": ["x"], "readiness": "tcp:0"}])")
                  .find("tcp needs a port"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name": "a", "argv": ["x"], "readiness": "smoke"}])")
                  .find("\"smoke\" is not one of"),
              std::string::npos);
    EXPECT_NE(error_of(R"([{"name": "a", "argv": ["x"], "stop_timeout": "soon"}])")
                  .find("expected a duration"),
              std::string::npos);
    EXPECT_EQ(parse_manifest("[1]", "m.json").error().message(),
              "m.json: expected a JSON object at the top level");
    EXPECT_EQ(parse("{}").error().message(), "m.json: $.services: expected an array of services");
}

TEST(Manifest, DependencyErrorsNameTheServices) {
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "depends": ["ghost"]}])"),
              "m.json: $.services: service 'a' depends on unknown service 'ghost'");
    EXPECT_EQ(
        error_of(
            R"([{"name": "a", "argv": ["x"], "depends": ["b"]}, {"name": "b", "argv": ["x"], "depends": ["c"]},
                          {"name": "c", "argv": ["x"], "depends": ["a"]}])"),
        "m.json: $.services: dependency cycle: a -> b -> c -> a");
    EXPECT_EQ(error_of(R"([{"name": "a", "argv": ["x"], "depends": ["a"]}])"),
              "m.json: $.services: service 'a' depends on itself");
}

TEST(Manifest, OrderPutsDependenciesFirst) {
    auto m = parse(R"([{"name": "app", "argv": ["x"], "depends": ["db", "cache"]},
                       {"name": "db", "argv": ["x"], "depends": ["disk"]},
                       {"name": "cache", "argv": ["x"]}, {"name": "disk", "argv": ["x"]}])");
    ASSERT_TRUE(m);
    std::vector<std::string> names;
    for (const auto& s : m->services)
        names.push_back(s.name);
    EXPECT_EQ(names, (std::vector<std::string>{"disk", "db", "cache", "app"}));
}

TEST(Manifest, SyntaxErrorsGiveLineAndColumn) {
    auto r = parse_manifest("{\n \"services\": [,]\n}", "/etc/keel/system.json");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("/etc/keel/system.json: parse error at line 2, column 15"),
              std::string::npos)
        << r.error().message();
    auto huge = parse_manifest(
        R"({"services": [{"name": "a", "argv": ["x"], "stop_timeout": 9999e9999}]})", "m.json");
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("m.json: number overflow"), std::string::npos)
        << huge.error().message();
    auto missing = load_manifest("/nonexistent/system.json");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(),
              "cannot open /nonexistent/system.json: No such file or directory");
}

TEST(Manifest, ServicesSection) {
    auto r = parse_services_section(R"([{"name": "a", "argv": ["x"]}])", "s.json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->services.size(), 1u);
    EXPECT_EQ(parse_services_section("{}", "s.json").error().message(),
              "s.json: $: expected an array of services");
}

TEST(Manifest, Signals) {
    EXPECT_EQ(signal_from_name("SIGTERM"), SIGTERM);
    EXPECT_EQ(signal_from_name("HUP"), SIGHUP);
    EXPECT_EQ(signal_from_name("9"), 9);
    EXPECT_EQ(signal_from_name("SIGNOPE"), 0);
    EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
}

}  // namespace
}  // namespace keel::init
