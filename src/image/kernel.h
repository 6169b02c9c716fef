// The kernel of an image: Debian's linux-image-amd64 from the host (/boot,
// /lib/modules) with only the modules the system needs — those named, the
// platform set (virtio, usb storage, file systems) and their modules.dep
// closure — plus modules.dep/modules.alias regenerated for that subset so
// keel dev loads by modalias only what is there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "image/tree.h"

namespace keel::image {

struct Kernel {
    std::string release;  // "6.1.0-56-amd64"
    std::string image;    // host path of the vmlinuz
};

// The newest installed Debian kernel, or `release` when given.
Result<Kernel> find_kernel(const std::string& release = "");

// The platform's modules every image gets (virtio, virtio_net with failover,
// virtio_blk, usb-storage, xhci/ehci, ext4, vfat, erofs, squashfs, overlay, 9p).
const std::vector<std::string>& platform_modules();

// Adds /lib/modules/RELEASE/... for `modules` and their dependencies, and the
// regenerated index files. Unknown module names are an error naming them.
Status add_kernel_modules(Tree& tree, const Kernel& kernel,
                          const std::vector<std::string>& modules);

// The libraries keel dev dlopen()s to decompress the tree's modules itself
// (dev/decompress.h): none when the modules are plain or the kernel's config
// (`/boot/config-RELEASE` text, "" when unknown) has CONFIG_MODULE_DECOMPRESS=y.
std::vector<const char*> module_decompressors(const Tree& tree, std::string_view kernel_config);

}  // namespace keel::image
