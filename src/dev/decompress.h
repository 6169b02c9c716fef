// Decompression of kernel modules shipped as .ko.xz or .ko.zst, for kernels that
// cannot decompress in finit_module (no CONFIG_MODULE_DECOMPRESS).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::dev {

enum class Compression { kNone, kXz, kZstd, kGzip };

// Loaded with dlopen() when a module needs them (an image carries them only
// for a kernel that cannot decompress modules itself).
inline constexpr const char* kXzLibrary = "liblzma.so.5";
inline constexpr const char* kZstdLibrary = "libzstd.so.1";

// From the file name: ".ko.xz", ".ko.zst", ".ko.gz", else none.
Compression compression_of(std::string_view path);
// Decompresses a whole xz or zstd image; `limit` bounds the output (a corrupt or
// hostile file cannot exhaust memory). gzip is reported as unsupported.
Result<std::string> decompress(std::string_view data, Compression kind, size_t limit = 256u << 20);

}  // namespace keel::dev
