// keel vm: drives a guest `keel boot` started, through the QMP socket its state
// file names (OUT/boot.json by default): USB sticks in and out, the ACPI power
// button, and raw QMP for everything else.
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "base/sys_kernel.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/image_verbs.h"
#include "image/qmp_client.h"

namespace keel::cli {
namespace {

using nlohmann::json;

constexpr const char* kTargetHelp =
    "the output directory keel boot runs (its boot.json), or a state file (--state)";

// The state keel boot wrote: from OUT/boot.json or the file itself.
Result<json> read_state(const std::string& where) {
    std::string path = where;
    if (auto st = sys::stat_path(where, true); st && S_ISDIR(st->st_mode))
        path = where + "/boot.json";
    auto text = sys::read_file(path);
    if (!text)
        return Error("no running guest: cannot read " + path + " (is keel boot running?)",
                     text.error().code());
    auto state = json::parse(*text, nullptr, false);
    if (!state.is_object() || !state.contains("qmp") || !state["qmp"].is_string())
        return Error(path + " is not a keel boot state file");
    return state;
}

Result<image::QmpClient> connect(const json& state) {
    auto qmp = image::QmpClient::connect(state["qmp"].get<std::string>());
    if (!qmp)
        return Error("cannot reach the guest's QMP socket: " + qmp.error().message(),
                     qmp.error().code());
    return qmp;
}

// A QEMU device id from an image's file name: letters, digits, - and _ only.
std::string id_from(const std::string& image) {
    std::string name = image.substr(image.rfind('/') + 1);
    name = name.substr(0, name.find('.'));
    std::string id;
    for (char c : name)
        id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
    if (id.empty() || !std::isalpha(static_cast<unsigned char>(id[0]))) id = "usb-" + id;
    return id;
}

int failed(const char* what, const Error& e) {
    return fail(what, e.message(), image_exit_code(e.code()));
}

int vm_plug_main(int argc, char** argv) {
    std::string target, image, id;
    bool read_only = false;
    Args args(
        "vm plug", "OUT IMAGE",
        "Plugs IMAGE (a raw disk image, e.g. made with mkfs.vfat -C) into the guest as a USB\n"
        "stick on its xhci controller; the guest sees a hotplug (hardware.block.add).");
    args.positional("OUT", kTargetHelp, &target, true);
    args.positional("IMAGE", "the disk image", &image, true);
    args.option("id", 0, "ID", "the device's name for keel vm unplug [IMAGE's name]", &id);
    args.flag("read-only", 'r', "the guest cannot write to it", &read_only);
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (::access(image.c_str(), R_OK) != 0) return args.usage_error("cannot read " + image);
    if (id.empty()) id = id_from(image);
    auto state = read_state(target);
    if (!state) return failed("vm plug", state.error());
    auto qmp = connect(*state);
    if (!qmp) return failed("vm plug", qmp.error());
    char abs[PATH_MAX];
    if (!::realpath(image.c_str(), abs)) return args.usage_error("cannot resolve " + image);
    if (auto st = qmp->add_usb_storage(id, abs, read_only); !st)
        return fail("vm plug", st.error().message(), kExitNo);
    std::printf("plugged %s as %s\n", image.c_str(), id.c_str());
    return kExitOk;
}

int vm_unplug_main(int argc, char** argv) {
    std::string target, id;
    Args args("vm unplug", "OUT ID",
              "Unplugs the USB stick keel vm plug named ID, once the guest let it go.");
    args.positional("OUT", kTargetHelp, &target, true);
    args.positional("ID", "the stick's id (keel vm plug printed it)", &id, true);
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto state = read_state(target);
    if (!state) return failed("vm unplug", state.error());
    auto qmp = connect(*state);
    if (!qmp) return failed("vm unplug", qmp.error());
    if (auto st = qmp->remove_usb_storage(id); !st)
        return fail("vm unplug", st.error().message(), kExitNo);
    std::printf("unplugged %s\n", id.c_str());
    return kExitOk;
}

int vm_powerdown_main(int argc, char** argv) {
    std::string target;
    std::chrono::nanoseconds wait{0};
    Args args("vm powerdown", "OUT",
              "Presses the guest's ACPI power button: its init stops every service and powers\n"
              "off, and QEMU (keel boot) exits.");
    args.positional("OUT", kTargetHelp, &target, true);
    args.duration_option("wait", "wait this long for QEMU to exit (exit status 1 if it does not)",
                         &wait);
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto state = read_state(target);
    if (!state) return failed("vm powerdown", state.error());
    // Opened first: the pid cannot be reused while we hold its pidfd.
    Fd pidfd;
    if (wait.count() > 0 && (*state)["pid"].is_number_integer())
        if (auto p = sys::pidfd_open((*state)["pid"].get<pid_t>())) pidfd = std::move(*p);
    auto qmp = connect(*state);
    if (!qmp) return failed("vm powerdown", qmp.error());
    if (auto st = qmp->system_powerdown(); !st)
        return fail("vm powerdown", st.error().message(), kExitNo);
    if (!pidfd) return kExitOk;
    pollfd p{pidfd.get(), POLLIN, 0};
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    if (::poll(&p, 1, ms) != 1)
        return fail("vm powerdown", "the guest did not power off within the wait", kExitNo);
    return kExitOk;
}

int vm_qmp_main(int argc, char** argv) {
    std::string target, command, arguments = "{}";
    Args args("vm qmp", "OUT COMMAND [ARGUMENTS]",
              "Runs one QMP command (e.g. query-status, human-monitor-command) and prints its\n"
              "return value as JSON. ARGUMENTS is a JSON object.");
    args.positional("OUT", kTargetHelp, &target, true);
    args.positional("COMMAND", "the QMP command", &command, true);
    args.positional("ARGUMENTS", "its arguments as a JSON object [{}]", &arguments, false);
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto parsed = json::parse(arguments, nullptr, false);
    if (!parsed.is_object()) return args.usage_error("ARGUMENTS is not a JSON object");
    auto state = read_state(target);
    if (!state) return failed("vm qmp", state.error());
    auto qmp = connect(*state);
    if (!qmp) return failed("vm qmp", qmp.error());
    auto r = qmp->execute(command, parsed);
    if (!r) return fail("vm qmp", r.error().message(), kExitNo);
    std::printf("%s\n", r->dump().c_str());
    return kExitOk;
}

struct SubVerb {
    const char* name;
    int (*fn)(int, char**);
};
constexpr SubVerb kSubVerbs[] = {
    {"plug", vm_plug_main},
    {"unplug", vm_unplug_main},
    {"powerdown", vm_powerdown_main},
    {"qmp", vm_qmp_main},
};

}  // namespace

int image_vm_main(int argc, char** argv) {
    log::set_program("keel vm");
    if (argc > 1)
        for (const auto& v : kSubVerbs)
            if (std::strcmp(argv[1], v.name) == 0) return v.fn(argc - 1, argv + 1);
    Args args("vm", "plug|unplug|powerdown|qmp OUT ...",
              "Drives a guest keel boot runs, through its QMP socket:\n\n"
              "  keel vm plug OUT IMAGE [--id ID]   a USB stick in (hotplug)\n"
              "  keel vm unplug OUT ID              and out\n"
              "  keel vm powerdown OUT [--wait T]   the ACPI power button\n"
              "  keel vm qmp OUT COMMAND [ARGS]     any QMP command\n\n"
              "OUT is the output directory keel boot was given (it writes OUT/boot.json).");
    if (auto rc = args.parse(argc, argv)) return *rc;
    return args.usage_error(argc > 1 ? std::string("unknown command '") + argv[1] + "'"
                                     : "which command?");
}

}  // namespace keel::cli
