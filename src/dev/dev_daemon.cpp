#include "dev/dev_daemon.h"

#include <malloc.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "dev/enrich.h"
#include "dev/firmware.h"
#include "dev/text.h"

namespace keel::dev {

namespace {

constexpr size_t kMaxListed = 256;  // bound on the module lists kept for dev.status

std::string uname_release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

bool exists(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}

void remember(std::vector<std::string>& list, std::string v) {
    if (std::find(list.begin(), list.end(), v) != list.end()) return;
    if (list.size() >= kMaxListed) list.erase(list.begin());
    list.push_back(std::move(v));
}

// Properties Keel adds (kept for remove events): enrichment, not the kernel's.
bool added_by_keel(const std::string& key) {
    return key.starts_with("ID_") || key == "DEVLINKS";
}

}  // namespace

DevDaemon::DevDaemon(loop::EventLoop& loop, bus::Client& bus, DaemonOptions opts, DevConfig cfg)
    : loop_(loop),
      bus_(bus),
      opts_(std::move(opts)),
      cfg_(std::move(cfg)),
      sysfs_(opts_.sysfs_root),
      links_(opts_.dev_root),
      runner_(loop, Runner::Options{}),
      buttons_(loop, bus, sysfs_, opts_.dev_root, cfg_.buttons,
               [this](const std::string& subject, const std::string& payload) {
                   publish(subject, payload);
               }) {}

DevDaemon::~DevDaemon() = default;

Result<std::unique_ptr<DevDaemon>> DevDaemon::create(loop::EventLoop& loop, bus::Client& bus,
                                                     DaemonOptions opts, DevConfig cfg) {
    if (opts.kernel_release.empty()) opts.kernel_release = uname_release();
    std::unique_ptr<DevDaemon> d(new DevDaemon(loop, bus, std::move(opts), std::move(cfg)));
    d->firmware_dirs_ = firmware_dirs(d->cfg_.firmware_dir, d->opts_.kernel_release);

    auto& mc = d->cfg_.modules;
    if (mc.dir.empty()) mc.dir = "/lib/modules/" + d->opts_.kernel_release;
    if (!d->cfg_.modules_enabled) {
        d->modules_note_ = "module loading is disabled";
    } else if (!exists(mc.dir + "/modules.alias") || !exists(mc.dir + "/modules.dep")) {
        d->modules_note_ = "no module index in " + mc.dir;
    } else {
        if (!exists("/proc/modules")) {
            d->modules_note_ = "this kernel cannot load modules: matching only";
            mc.load = false;
        }
        DevDaemon* self = d.get();
        d->modules_ = KEEL_TRY(ModuleWorker::start(
            loop, mc, d->opts_.sysfs_root,
            [self](const ModuleWorker::Job& job, ModuleLoader::AliasResult&& r) {
                self->on_module_result(job, std::move(r));
            }));
    }
    if (!d->modules_note_.empty()) log::info("%s", d->modules_note_.c_str());

    DevDaemon* self = d.get();
    bus.subscribe("dev.list", [self](const bus::Message& m) { self->answer_list(m); });
    bus.subscribe("dev.info", [self](const bus::Message& m) { self->answer_info(m); });
    bus.subscribe("dev.status",
                  [self](const bus::Message& m) { self->reply(m, self->status_json()); });
    return d;
}

Status DevDaemon::start() {
    // The socket first: an event that happens during coldplug is then queued, not lost.
    if (opts_.listen) {
        auto s = UeventSocket::open(opts_.receive_buffer);
        if (!s) return s.error();
        socket_ = std::make_unique<UeventSocket>(std::move(*s));
        KEEL_TRY_STATUS(
            watch_.start(loop_, socket_->fd(), EPOLLIN, [this](uint32_t) { on_readable(); }));
    }
    if (opts_.coldplug) {
        if (modules_) modules_->hold();
        auto st = sysfs_.scan([this](Device&& dev) { handle(std::move(dev), "coldplug"); });
        if (modules_) modules_->release();
        if (!st) return st;
        log::info("coldplug: %llu devices",
                  static_cast<unsigned long long>(stats_.coldplug_events));
    }
    release_memory();
    return {};
}

void DevDaemon::release_memory() {
    // A scan leaves the tables' nodes scattered among freed temporaries: copied,
    // they fill the low holes of the heap, and the rest goes back to the system.
    decltype(known_) known(known_.begin(), known_.end());
    known_.swap(known);
    decltype(enriched_) enriched(enriched_.begin(), enriched_.end());
    enriched_.swap(enriched);
    known = {};
    enriched = {};
    ::malloc_trim(0);
}

void DevDaemon::reload(DevConfig cfg) {
    cfg_.rules = std::move(cfg.rules);
    cfg_.default_links = cfg.default_links;
    cfg_.firmware = cfg.firmware;
    cfg_.firmware_dir = cfg.firmware_dir;
    firmware_dirs_ = firmware_dirs(cfg_.firmware_dir, opts_.kernel_release);
    cfg_.buttons = cfg.buttons;
    buttons_.reload(cfg_.buttons);
    log::info("reloaded: %zu rules (module settings apply from the next start)", cfg_.rules.size());
}

void DevDaemon::on_readable() {
    bool overflow = false;
    for (int i = 0; i < 1024; ++i) {  // bounded batch: the bus gets its turn
        auto r = socket_->receive();
        if (!r) {
            log::error("%s", r.error().message().c_str());
            return;
        }
        switch (r->kind) {
            case UeventSocket::Kind::kEmpty:
                if (overflow) resync();
                return;
            case UeventSocket::Kind::kOverflow:
                ++stats_.overflows;
                log::warning(
                    "the kernel dropped uevents (receive queue full, %llu times): rescanning /sys",
                    static_cast<unsigned long long>(stats_.overflows));
                overflow = true;
                break;
            case UeventSocket::Kind::kRejected:
                ++stats_.rejected;
                log::warning("dropped a uevent datagram: %s", r->why);
                break;
            case UeventSocket::Kind::kMessage:
                on_message(r->data);
                break;
        }
    }
    if (overflow) resync();
}

void DevDaemon::on_message(std::string_view data) {
    if (auto st = parse_uevent(data, &view_); !st) {
        ++stats_.malformed;
        log::warning("dropped a uevent: %s", st.error().message().c_str());
        return;
    }
    ++stats_.kernel_events;
    handle(Device::from_uevent(view_), "kernel");
}

void DevDaemon::resync() {
    std::vector<Device> present;
    std::set<std::string> paths;
    auto st = sysfs_.scan([&](Device&& d) {
        paths.insert(std::string(d.devpath()));
        if (!known_.count(std::string(d.devpath()))) present.push_back(std::move(d));
    });
    if (!st) {
        log::error("resync: %s", st.error().message().c_str());
        return;
    }
    std::vector<Device> gone;
    for (const auto& [path, subsystem] : known_) {
        if (paths.count(path)) continue;
        gone.push_back(Device::from_sysfs("remove", path, subsystem, {}));
    }
    log::info("resync: %zu devices appeared, %zu disappeared while events were lost",
              present.size(), gone.size());
    for (auto& d : present)
        handle(std::move(d), "resync");
    for (auto& d : gone)
        handle(std::move(d), "resync");
    release_memory();
}

void DevDaemon::handle(Device dev, const char* source) {
    const std::string devpath(dev.devpath());
    const std::string action(dev.action());
    if (std::string_view(source) == "coldplug")
        ++stats_.coldplug_events;
    else if (std::string_view(source) == "resync")
        ++stats_.resync_events;
    if (std::string_view(source) != "kernel") dev.set("KEEL_SOURCE", source);

    if (action == "remove") {
        if (auto it = enriched_.find(devpath); it != enriched_.end()) {
            for (auto& [k, v] : it->second)
                if (!dev.has(k)) dev.set(k, std::move(v));
            enriched_.erase(it);
        }
        links_.remove(devpath);
        known_.erase(devpath);
    } else {
        if (action == "move") {
            std::string old(dev.get("DEVPATH_OLD"));
            known_.erase(old);
            enriched_.erase(old);
            links_.remove(old);
        }
        // Only what a rescan of /sys/devices can find again: events for modules
        // (/module/...) or drivers (/bus/...) are not devices.
        if (devpath.starts_with("/devices/")) known_[devpath] = std::string(dev.subsystem());
        enrich(dev, sysfs_, opts_.dev_root);
    }

    if (cfg_.firmware && action == "add" && dev.subsystem() == "firmware" && dev.has("FIRMWARE")) {
        auto fw = serve_firmware(dev, sysfs_, firmware_dirs_);
        if (fw) {
            ++stats_.firmware_served;
            log::info("firmware %s served from %s", std::string(dev.get("FIRMWARE")).c_str(),
                      fw->c_str());
        } else {
            ++stats_.firmware_missing;
            log::warning("%s", fw.error().message().c_str());
        }
    }

    RuleResult r = apply_rules(cfg_.rules, dev, sysfs_);
    if ((action == "add" || action == "change" || action == "move") && dev.has("DEVNAME")) {
        apply_node(dev, r);
        std::vector<std::string> want =
            cfg_.default_links ? default_links(dev) : std::vector<std::string>{};
        for (auto& l : r.symlinks)
            want.push_back(std::move(l));
        std::string devname(dev.get("DEVNAME"));
        if (!want.empty() || links_.links_of(devpath))
            links_.update(devpath, devname, std::move(want));
        add_devlinks(dev);
    }
    if (action != "remove") {
        std::vector<std::pair<std::string, std::string>> keep;
        for (const auto& [k, v] : dev.properties())
            if (added_by_keel(k)) keep.emplace_back(k, v);
        if (!keep.empty())
            enriched_[devpath] = std::move(keep);
        else
            enriched_.erase(devpath);
    }

    const std::string payload = dev.to_json();
    publish(hardware_subject(dev.subsystem(), action), payload);
    buttons_.on_device(dev);
    for (const auto& s : r.publish)
        publish(s, payload);
    if (!r.run.empty()) {
        std::vector<std::string> env;
        for (const auto& [k, v] : dev.properties())
            env.push_back(k + "=" + v);
        env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (auto& argv : r.run)
            runner_.run(std::move(argv), env);
    }
    if (modules_ && action == "add" && dev.has("MODALIAS")) {
        if (!modules_->submit({std::string(dev.get("MODALIAS")), devpath})) {
            if (modules_->dropped() != stats_.module_queue_dropped) {
                stats_.module_queue_dropped = modules_->dropped();
                log::warning("module queue full: %s not handled",
                             std::string(dev.get("MODALIAS")).c_str());
            }
        }
    }
}

void DevDaemon::add_devlinks(Device& dev) const {
    const auto* links = links_.links_of(std::string(dev.devpath()));
    if (!links) return;
    std::string all;
    for (const auto& l : *links) {
        if (!all.empty()) all += ' ';
        all += opts_.dev_root + "/" + l;
    }
    dev.set("DEVLINKS", std::move(all));
}

void DevDaemon::apply_node(const Device& dev, const RuleResult& r) {
    if (!r.mode && !r.owner && !r.group) return;
    const std::string node = dev.node(opts_.dev_root);
    if (r.mode) {
        if (auto st = sys::chmod(node, *r.mode); !st) {
            ++stats_.rule_errors;
            log::error("%s", st.error().message().c_str());
        }
    }
    if (r.owner || r.group) {
        uid_t uid = r.owner ? *r.owner : static_cast<uid_t>(-1);
        gid_t gid = r.group ? *r.group : static_cast<gid_t>(-1);
        if (auto st = sys::chown(node, uid, gid); !st) {
            ++stats_.rule_errors;
            log::error("%s", st.error().message().c_str());
        }
    }
}

void DevDaemon::publish(const std::string& subject, const std::string& payload) {
    if (auto st = bus_.publish(subject, payload); !st) {
        ++stats_.publish_errors;
        log::error("cannot publish %s: %s", subject.c_str(), st.error().message().c_str());
        return;
    }
    ++stats_.published;
}

void DevDaemon::reply(const bus::Message& m, const std::string& payload) {
    if (m.reply.empty()) return;
    if (auto st = bus_.publish(m.reply, payload); !st)
        log::error("cannot answer on %.*s: %s", static_cast<int>(m.reply.size()), m.reply.data(),
                   st.error().message().c_str());
}

void DevDaemon::on_module_result(const ModuleWorker::Job& job, ModuleLoader::AliasResult&& r) {
    if (!r.error.empty()) {
        log::error("modules: %s", r.error.c_str());
        return;
    }
    if (!r.matched()) {
        if (unmatched_.size() < kMaxListed) unmatched_.insert(job.modalias);
        log::debug("no module for %s (%s)", job.modalias.c_str(), job.devpath.c_str());
        return;
    }
    for (const auto& o : r.outcomes) {
        nlohmann::ordered_json j;
        j["module"] = o.module;
        j["path"] = o.path;
        j["alias"] = job.modalias;
        j["devpath"] = job.devpath;
        switch (o.state) {
            case ModuleLoader::Outcome::State::kLoaded:
                ++stats_.modules_loaded;
                remember(loaded_, o.module);
                log::info("loaded %s for %s", o.module.c_str(), job.devpath.c_str());
                publish("hardware.module.loaded",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                break;
            case ModuleLoader::Outcome::State::kFailed:
                ++stats_.modules_failed;
                remember(failed_, o.module);
                j["error"] = o.error;
                log::error("cannot load %s for %s: %s", o.module.c_str(), job.devpath.c_str(),
                           o.error.c_str());
                publish("hardware.module.failed",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                break;
            case ModuleLoader::Outcome::State::kResolved:
                remember(resolved_, o.module);
                break;
            case ModuleLoader::Outcome::State::kAlready:
                break;
        }
    }
}

std::string DevDaemon::status_json() const {
    nlohmann::ordered_json j;
    j["devices"] = known_.size();
    j["events"] = {{"kernel", stats_.kernel_events},          {"coldplug", stats_.coldplug_events},
                   {"resync", stats_.resync_events},          {"published", stats_.published},
                   {"publish_errors", stats_.publish_errors}, {"rejected", stats_.rejected},
                   {"malformed", stats_.malformed},           {"overflows", stats_.overflows}};
    j["bus"] = {{"connected", bus_.connected()},
                {"dropped", bus_.dropped()},
                {"pending_bytes", bus_.pending_bytes()}};
    nlohmann::ordered_json m;
    m["enabled"] = modules_ != nullptr;
    m["note"] = modules_note_;
    m["dir"] = cfg_.modules.dir;
    m["load"] = cfg_.modules.load;
    m["loaded_count"] = stats_.modules_loaded;
    m["failed_count"] = stats_.modules_failed;
    m["loaded"] = loaded_;
    m["failed"] = failed_;
    m["resolved"] = resolved_;
    m["unmatched"] = std::vector<std::string>(unmatched_.begin(), unmatched_.end());
    m["pending"] = modules_ ? modules_->outstanding() : 0;
    m["queue_dropped"] = modules_ ? modules_->dropped() : 0;
    j["modules"] = m;
    j["firmware"] = {{"served", stats_.firmware_served}, {"missing", stats_.firmware_missing}};
    j["rules"] = {{"count", cfg_.rules.size()},
                  {"errors", stats_.rule_errors},
                  {"commands_running", runner_.running()},
                  {"commands_failed", runner_.failed()},
                  {"commands_dropped", runner_.dropped()}};
    j["links"] = links_.devices();
    j["buttons"] = buttons_.status();
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The subsystem filter of a dev.list request: "", "block", or {"subsystem":"block"}.
std::string list_filter(std::string_view data) {
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("subsystem") && j["subsystem"].is_string())
        return j["subsystem"].get<std::string>();
    std::string s(data);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::string error_json(const std::string& what) {
    std::string out = "{\"error\":";
    append_json_string(out, what);
    return out + "}";
}

}  // namespace

void DevDaemon::answer_list(const bus::Message& m) {
    if (m.reply.empty()) return;
    const std::string filter = list_filter(m.data);
    std::string out = "[";
    auto st = sysfs_.scan([&](Device&& d) {
        if (!filter.empty() && d.subsystem() != filter) return;
        enrich(d, sysfs_, opts_.dev_root);
        add_devlinks(d);
        d.erase("ACTION");
        if (out.size() > 1) out += ',';
        out += d.to_json();
    });
    out += ']';
    if (!st) out = error_json(st.error().message());
    if (out.size() > static_cast<size_t>(bus_.server_info().max_payload) &&
        bus_.server_info().max_payload > 0)
        out = error_json("the list is " + std::to_string(out.size()) +
                         " bytes, over the bus's max_payload: filter by subsystem");
    reply(m, out);
    out = std::string();
    ::malloc_trim(0);
}

void DevDaemon::answer_info(const bus::Message& m) {
    if (m.reply.empty()) return;
    std::string key(m.data);
    while (!key.empty() && (key.back() == '\n' || key.back() == ' '))
        key.pop_back();
    std::string devpath = key;
    if (devpath.starts_with(opts_.sysfs_root + "/"))
        devpath = devpath.substr(opts_.sysfs_root.size());
    if (devpath.starts_with(opts_.dev_root + "/")) {
        // A device node: find it by its number, like `udevadm info /dev/sda`.
        struct stat st;
        if (::stat(devpath.c_str(), &st) != 0 || !(S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
            reply(m, error_json(key + " is not a device node"));
            return;
        }
        std::string link = opts_.sysfs_root + (S_ISBLK(st.st_mode) ? "/dev/block/" : "/dev/char/") +
                           std::to_string(major(st.st_rdev)) + ":" +
                           std::to_string(minor(st.st_rdev));
        auto target = sys::read_link(link);
        auto at = target ? target->find("/devices/") : std::string::npos;
        if (at == std::string::npos) {
            reply(m, error_json("no sysfs device for " + key));
            return;
        }
        devpath = target->substr(at);
    }
    auto dev = sysfs_.read_device(devpath, "add");
    if (!dev) {
        reply(m, error_json(dev.error().message()));
        return;
    }
    enrich(*dev, sysfs_, opts_.dev_root);
    add_devlinks(*dev);
    dev->erase("ACTION");
    reply(m, dev->to_json());
}

}  // namespace keel::dev
