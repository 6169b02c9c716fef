#include "dev/block_probe.h"

#include <blkid/blkid.h>
#include <fcntl.h>

#include <cstring>
#include <memory>

#include "base/sys_fs.h"

namespace keel::dev {

namespace {

struct ProbeDeleter {
    void operator()(blkid_probe p) const { blkid_free_probe(p); }
};

constexpr struct {
    const char* tag;
    const char* property;
} kTags[] = {
    {"TYPE", "ID_FS_TYPE"},
    {"USAGE", "ID_FS_USAGE"},
    {"VERSION", "ID_FS_VERSION"},
    {"LABEL", "ID_FS_LABEL"},
    {"UUID", "ID_FS_UUID"},
    {"UUID_SUB", "ID_FS_UUID_SUB"},
    {"PTTYPE", "ID_PART_TABLE_TYPE"},
    {"PTUUID", "ID_PART_TABLE_UUID"},
    {"PART_ENTRY_UUID", "ID_PART_ENTRY_UUID"},
    {"PART_ENTRY_NAME", "ID_PART_ENTRY_NAME"},
    {"PART_ENTRY_TYPE", "ID_PART_ENTRY_TYPE"},
    {"PART_ENTRY_NUMBER", "ID_PART_ENTRY_NUMBER"},
};

}  // namespace

void probe_block(const std::string& node, Device& dev) {
    // O_NONBLOCK: an empty removable drive must not make the open wait.
    auto fd = sys::open(node.c_str(), O_RDONLY | O_NONBLOCK);
    if (!fd) return;
    std::unique_ptr<blkid_struct_probe, ProbeDeleter> pr(blkid_new_probe());
    if (!pr) return;
    if (blkid_probe_set_device(pr.get(), fd->get(), 0, 0) != 0) return;
    blkid_probe_enable_superblocks(pr.get(), 1);
    blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
                                                    BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
                                                    BLKID_SUBLKS_VERSION);
    blkid_probe_enable_partitions(pr.get(), 1);
    blkid_probe_set_partitions_flags(pr.get(), BLKID_PARTS_ENTRY_DETAILS);
    // Ambivalent results (two signatures) count as nothing, as with udev's builtin.
    if (blkid_do_safeprobe(pr.get()) != 0) return;
    for (const auto& t : kTags) {
        const char* value = nullptr;
        size_t len = 0;
        if (blkid_probe_lookup_value(pr.get(), t.tag, &value, &len) == 0 && value) {
            size_t n = ::strnlen(value, len);
            if (n > 0) dev.set(t.property, std::string(value, n));
        }
    }
}

}  // namespace keel::dev
