// Writers: a Tree to the outputs. All deterministic (sorted paths, mtime 0 or
// SOURCE_DATE_EPOCH, owners from the tree) so equal inputs give equal bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/progress.h"
#include "image/tree.h"

namespace keel::image {

enum class Compression { none, gzip, xz, zstd };

// An initramfs: cpio "newc" as the kernel unpacks it, compressed.
Status write_cpio(const Tree& tree, const std::string& path, Compression compression,
                  Progress& progress);
// One archive of an initramfs made of several.
struct CpioPart {
    const Tree* tree = nullptr;
    // The part's archive as an earlier build wrote it, when nothing in it has
    // changed since: written as it is instead of compressed again.
    std::optional<std::string> reuse;
};
// An initramfs of several such archives, each compressed on its own and written
// one after the other: the kernel unpacks them in turn (buffer-format.rst, as
// with an early microcode archive), so each part's size is what it costs. The
// parts are compressed at the same time, each on a thread of its own; the bytes
// do not depend on it. Returns the compressed size of each part.
Result<std::vector<uint64_t>> write_cpio_parts(const std::vector<CpioPart>& parts,
                                               const std::string& path, Compression compression,
                                               Progress& progress);

// The tree as a real directory (for keel run); owners applied when running as root.
Status write_directory(const Tree& tree, const std::string& dir, Progress& progress);

struct SizeLine {
    std::string name;  // package, file class, or "total"
    uint64_t files = 0;
    uint64_t bytes = 0;
};
struct SizeReport {
    std::vector<SizeLine> by_origin;  // per package / host / kernel / definition, largest first
    std::vector<SizeLine> by_class;   // executables, libraries, kernel modules, config, other
    std::vector<SizeLine> pruned;     // what keel build left out (bytes saved), set by the caller
    uint64_t total_files = 0;
    uint64_t total_bytes = 0;
    uint64_t module_files = 0;  // of the totals: kernel modules (/usr/lib/modules)
    uint64_t module_bytes = 0;
    // Set by the caller when written: the initramfs, and its kernel-modules part
    // when the modules are an archive of their own (keel build writes them so).
    uint64_t compressed_bytes = 0;
    uint64_t modules_compressed_bytes = 0;
    uint64_t kernel_image_bytes = 0;  // vmlinuz
    // The image without the kernel (vmlinuz and modules), compressed: the goal
    // for a system beside its kernel in flash (0 when the modules are not apart).
    uint64_t system_compressed_bytes() const {
        return modules_compressed_bytes ? compressed_bytes - modules_compressed_bytes : 0;
    }
};
SizeReport size_report(const Tree& tree);
std::string format_size_report(const SizeReport& report);

}  // namespace keel::image
