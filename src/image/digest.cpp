#include "image/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include <memory>

#include "base/sys.h"

namespace keel::image {
namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

MdCtx new_ctx() {
    MdCtx ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (ctx) EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    return ctx;
}

std::string finish(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    MdCtx ctx = new_ctx();
    EVP_DigestUpdate(ctx.get(), data.data(), data.size());
    return finish(ctx.get());
}

Result<std::string> sha256_file(const std::string& path) {
    Fd fd = KEEL_TRY(sys::open(path, O_RDONLY | O_CLOEXEC));
    MdCtx ctx = new_ctx();
    if (!ctx) return Error("cannot hash " + path + ": EVP_MD_CTX_new failed");
    std::string buf(1 << 20, '\0');
    for (;;) {
        auto n = sys::read(fd.get(), buf.data(), buf.size());
        if (!n) return Error("cannot read " + path, n.error().code());
        if (*n == 0) break;
        EVP_DigestUpdate(ctx.get(), buf.data(), *n);
    }
    return finish(ctx.get());
}

}  // namespace keel::image
