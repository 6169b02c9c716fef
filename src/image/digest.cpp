#include "image/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include "base/fd.h"
#include "base/sys.h"

namespace keel::image {

struct Sha256::Ctx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
    EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_->md, digest, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 h;
    h.update(bytes);
    return h.hex();
}

Result<std::string> sha256_file(const std::string& path) {
    auto fd = KEEL_TRY(sys::open(path, O_RDONLY));
    Sha256 h;
    char buf[1 << 16];
    for (;;) {
        auto n = sys::read(fd.get(), buf, sizeof buf);
        if (!n) return Error("cannot read " + path, n.error().code());
        if (*n == 0) break;
        h.update(std::string_view(buf, *n));
    }
    return h.hex();
}

}  // namespace keel::image
