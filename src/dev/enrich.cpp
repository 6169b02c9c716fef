#include "dev/enrich.h"

#include "dev/block_probe.h"
#include "dev/text.h"

namespace keel::dev {

namespace {

void add_usb(Device& dev, const Sysfs& sysfs) {
    const std::string path(dev.devpath());
    std::string iface_num;
    // Walk from the device up to the USB device it belongs to.
    for (std::string p(path); p.size() > 1; p.resize(p.rfind('/'))) {
        if (iface_num.empty())
            if (auto n = sysfs.attr(p, "bInterfaceNumber")) iface_num = *n;
        auto vendor = sysfs.attr(p, "idVendor");
        if (!vendor) continue;
        dev.set("ID_BUS", "usb");
        dev.set("ID_VENDOR_ID", *vendor);
        auto product = sysfs.attr(p, "idProduct");
        if (product) dev.set("ID_MODEL_ID", *product);
        std::string vendor_name = id_safe(sysfs.attr(p, "manufacturer").value_or(*vendor));
        std::string model_name = id_safe(sysfs.attr(p, "product").value_or(product.value_or("")));
        dev.set("ID_VENDOR", vendor_name);
        dev.set("ID_MODEL", model_name);
        if (auto rev = sysfs.attr(p, "bcdDevice")) dev.set("ID_REVISION", *rev);
        std::string serial = vendor_name + "_" + model_name;
        if (auto s = sysfs.attr(p, "serial"); s && !s->empty()) {
            std::string safe = id_safe(*s);
            dev.set("ID_SERIAL_SHORT", safe);
            serial += "_" + safe;
        }
        dev.set("ID_SERIAL", serial);
        if (!iface_num.empty()) dev.set("ID_USB_INTERFACE_NUM", iface_num);
        return;
    }
}

}  // namespace

std::string id_safe(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
    std::string squeezed;
    for (size_t i = 0; i < s.size(); ++i) {
        if (!space(s[i])) {
            squeezed += s[i];
        } else if (!squeezed.empty() && squeezed.back() != ' ') {
            squeezed += ' ';
        }
    }
    if (!squeezed.empty() && squeezed.back() == ' ') squeezed.pop_back();
    return replace_unsafe(squeezed, /*hex=*/false);
}

void enrich(Device& dev, const Sysfs& sysfs, const std::string& dev_root) {
    std::string_view action = dev.action();
    if (action == "remove" || action == "unbind" || action == "offline") return;
    // Copies: adding properties moves the device's strings.
    const std::string subsystem(dev.subsystem());
    const std::string path(dev.devpath());
    if (path.find("/usb") != std::string_view::npos) add_usb(dev, sysfs);
    if (subsystem == "block" && dev.has("DEVNAME")) {
        // An unbound loop device or an empty card reader has size 0: nothing to probe.
        auto size = sysfs.attr(path, "size");
        if (size && *size != "0") probe_block(dev.node(dev_root), dev);
    } else if (subsystem == "net") {
        if (auto mac = sysfs.attr(path, "address"); mac && !mac->empty())
            dev.set("ID_NET_ADDRESS", *mac);
    }
}

}  // namespace keel::dev
