#include "dev/decompress.h"

#include <dlfcn.h>
#include <lzma.h>
#include <zstd.h>

#include <memory>

namespace keel::dev {

namespace {

// liblzma and libzstd are loaded on first use: most kernels load modules
// uncompressed or decompress them in finit_module, and then an image carries
// neither library (keel build adds them only for a kernel that cannot).
template <typename Fn>
Result<Fn*> symbol(const char* library, const char* name) {
    void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!handle) handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return Error(std::string("cannot load ") + library + ": " + ::dlerror());
    void* fn = ::dlsym(handle, name);
    if (!fn) return Error(std::string(library) + " has no " + name);
    return reinterpret_cast<Fn*>(fn);
}

struct Xz {
    decltype(&lzma_stream_decoder) stream_decoder;
    decltype(&lzma_code) code;
    decltype(&lzma_end) end;
};

Result<Xz> load_xz() {
    static Result<Xz> xz = []() -> Result<Xz> {
        return Xz{
            KEEL_TRY(symbol<decltype(lzma_stream_decoder)>(kXzLibrary, "lzma_stream_decoder")),
            KEEL_TRY(symbol<decltype(lzma_code)>(kXzLibrary, "lzma_code")),
            KEEL_TRY(symbol<decltype(lzma_end)>(kXzLibrary, "lzma_end"))};
    }();
    return xz;
}

struct Zstd {
    decltype(&ZSTD_createDStream) create;
    decltype(&ZSTD_freeDStream) free;
    decltype(&ZSTD_initDStream) init;
    decltype(&ZSTD_decompressStream) decompress;
    decltype(&ZSTD_isError) is_error;
    decltype(&ZSTD_getErrorName) error_name;
};

Result<Zstd> load_zstd() {
    static Result<Zstd> zstd = []() -> Result<Zstd> {
        return Zstd{
            KEEL_TRY(symbol<decltype(ZSTD_createDStream)>(kZstdLibrary, "ZSTD_createDStream")),
            KEEL_TRY(symbol<decltype(ZSTD_freeDStream)>(kZstdLibrary, "ZSTD_freeDStream")),
            KEEL_TRY(symbol<decltype(ZSTD_initDStream)>(kZstdLibrary, "ZSTD_initDStream")),
            KEEL_TRY(
                symbol<decltype(ZSTD_decompressStream)>(kZstdLibrary, "ZSTD_decompressStream")),
            KEEL_TRY(symbol<decltype(ZSTD_isError)>(kZstdLibrary, "ZSTD_isError")),
            KEEL_TRY(symbol<decltype(ZSTD_getErrorName)>(kZstdLibrary, "ZSTD_getErrorName"))};
    }();
    return zstd;
}

// Grows `out` for more output; false once `limit` is reached.
bool grow(std::string& out, size_t used, size_t limit) {
    if (used >= limit) return false;
    out.resize(std::min(limit, std::max<size_t>(out.size() * 2, 1 << 16)));
    return true;
}

Result<std::string> unxz(std::string_view data, size_t limit) {
    auto xz = load_xz();
    if (!xz) return Error("xz: " + xz.error().message());
    lzma_stream s = LZMA_STREAM_INIT;
    if (xz->stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
        return Error("xz: cannot start the decoder");
    std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&s, xz->end);
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
        lzma_ret rc = xz->code(&s, LZMA_FINISH);
        if (rc == LZMA_STREAM_END) {
            out.resize(s.total_out);
            return out;
        }
        if (rc == LZMA_BUF_ERROR) return Error("xz: truncated data");
        if (rc != LZMA_OK) return Error("xz: corrupt data (lzma error " + std::to_string(rc) + ")");
    }
}

Result<std::string> unzstd(std::string_view data, size_t limit) {
    auto z = load_zstd();
    if (!z) return Error("zstd: " + z.error().message());
    std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(z->create(), z->free);
    if (!ds) return Error("zstd: cannot start the decoder");
    z->init(ds.get());
    std::string out;
    size_t used = 0;
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        if (used == out.size() && !grow(out, used, limit))
            return Error("zstd: output exceeds " + std::to_string(limit) + " bytes");
        ZSTD_outBuffer ob{out.data(), out.size(), used};
        size_t before_in = in.pos;
        size_t rc = z->decompress(ds.get(), &ob, &in);
        if (z->is_error(rc)) return Error(std::string("zstd: corrupt data: ") + z->error_name(rc));
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
