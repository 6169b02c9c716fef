#include "dev/decompress.h"

#include <lzma.h>
#include <zstd.h>

#include <memory>

namespace keel::dev {

namespace {

// Grows `out` for more output; false once `limit` is reached.
bool grow(std::string& out, size_t used, size_t limit) {
    if (used >= limit) return false;
    out.resize(std::min(limit, std::max<size_t>(out.size() * 2, 1 << 16)));
    return true;
}

Result<std::string> unxz(std::string_view data, size_t limit) {
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
        return Error("xz: cannot start the decoder");
    std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&s, lzma_end);
    std::string out;
    s.next_in = reinterpret_cast<const uint8_t*>(data.data());
    s.avail_in = data.size();
    for (;;) {
        if (s.avail_out == 0) {
            size_t used = s.total_out;
            if (!grow(out, used, limit))
                return Error("xz: output exceeds " + std::to_string(limit) + " bytes");
            s.next_out = reinterpret_cast<uint8_t*>(out.data() + used);
            s.avail_out = out.size() - used;
        }
        lzma_ret rc = lzma_code(&s, LZMA_FINISH);
        if (rc == LZMA_STREAM_END) {
            out.resize(s.total_out);
            return out;
        }
        if (rc == LZMA_BUF_ERROR) return Error("xz: truncated data");
        if (rc != LZMA_OK) return Error("xz: corrupt data (lzma error " + std::to_string(rc) + ")");
    }
}

Result<std::string> unzstd(std::string_view data, size_t limit) {
    std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                                ZSTD_freeDStream);
    if (!ds) return Error("zstd: cannot start the decoder");
    ZSTD_initDStream(ds.get());
    std::string out;
    size_t used = 0;
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        if (used == out.size() && !grow(out, used, limit))
            return Error("zstd: output exceeds " + std::to_string(limit) + " bytes");
        ZSTD_outBuffer ob{out.data(), out.size(), used};
        size_t before_in = in.pos;
        size_t rc = ZSTD_decompressStream(ds.get(), &ob, &in);
        if (ZSTD_isError(rc))
            return Error(std::string("zstd: corrupt data: ") + ZSTD_getErrorName(rc));
        bool progress = ob.pos != used || in.pos != before_in;
        used = ob.pos;
        if (rc == 0 && in.pos == in.size) {
            out.resize(used);
            return out;
        }
        if (!progress && ob.pos < ob.size) return Error("zstd: truncated data");
    }
}

}  // namespace

Compression compression_of(std::string_view path) {
    if (path.ends_with(".xz")) return Compression::kXz;
    if (path.ends_with(".zst")) return Compression::kZstd;
    if (path.ends_with(".gz")) return Compression::kGzip;
    return Compression::kNone;
}

Result<std::string> decompress(std::string_view data, Compression kind, size_t limit) {
    switch (kind) {
        case Compression::kXz:
            return unxz(data, limit);
        case Compression::kZstd:
            return unzstd(data, limit);
        case Compression::kGzip:
            return Error("gzip-compressed modules are not supported (use xz or zstd)");
        case Compression::kNone:
            break;
    }
    return std::string(data);
}

}  // namespace keel::dev
