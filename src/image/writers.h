// Writers: a Tree to the outputs. All deterministic (sorted paths, mtime 0 or
// SOURCE_DATE_EPOCH, owners from the tree) so equal inputs give equal bytes.
#pragma once

#include <cstdint>
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
    uint64_t total_bytes = 0;
    uint64_t compressed_bytes = 0;    // of the initramfs written, 0 when none
};
SizeReport size_report(const Tree& tree);
std::string format_size_report(const SizeReport& report);

}  // namespace keel::image
