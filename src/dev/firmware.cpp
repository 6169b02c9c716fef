#include "dev/firmware.h"

#include <fcntl.h>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "dev/rules.h"

namespace keel::dev {

std::vector<std::string> firmware_dirs(const std::string& base, const std::string& release) {
    return {base + "/updates/" + release, base + "/updates", base + "/" + release, base};
}

Result<std::string> serve_firmware(const Device& dev, const Sysfs& sysfs,
                                   const std::vector<std::string>& dirs) {
    const std::string name(dev.get("FIRMWARE"));
    const std::string dir = sysfs.root() + std::string(dev.devpath());
    const std::string loading = dir + "/loading";
    auto refuse = [&](Error e) -> Result<std::string> {
        (void)sys::write_existing(loading, "-1");
        return e;
    };
    if (!safe_link_path(name)) return refuse(Error("unsafe firmware name '" + name + "'"));
    std::string found;
    Result<std::string> image = Error("");
    for (const auto& d : dirs) {
        image = sys::read_file(d + "/" + name);
        if (image) {
            found = d + "/" + name;
            break;
        }
    }
    if (found.empty()) return refuse(Error("firmware " + name + " not found", ENOENT));
    KEEL_TRY_STATUS(sys::write_existing(loading, "1"));
    auto data = sys::open((dir + "/data").c_str(), O_WRONLY);
    if (!data) return refuse(data.error());
    std::string_view rest = *image;
    while (!rest.empty()) {
        auto n = sys::write(data->get(), rest.data(), rest.size());
        if (!n)
            return refuse(
                Error("cannot write firmware " + name + " to " + dir + "/data", n.error().code()));
        rest.remove_prefix(*n);
    }
    KEEL_TRY_STATUS(sys::write_existing(loading, "0"));
    return found;
}

}  // namespace keel::dev
