#include "base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <vector>

namespace keel {

void random_bytes(void* out, size_t n) {
    auto* p = static_cast<unsigned char*>(out);
    size_t got = 0;
    for (unsigned flags : {GRND_INSECURE, GRND_NONBLOCK}) {
        while (got < n) {
            ssize_t r = ::getrandom(p + got, n - got, flags);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += static_cast<size_t>(r);
        }
        if (got == n) return;
    }
    // Kernels before 5.6 (no GRND_INSECURE) with a generator not yet seeded.
    auto t = static_cast<unsigned long long>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = got; i < n; ++i)
        p[i] = static_cast<unsigned char>((t >> ((i % 8) * 8)) ^ (i * 131));
}

std::string random_token(size_t n) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::vector<unsigned char> raw(n);
    random_bytes(raw.data(), n);
    std::string out(n, 'A');
    for (size_t i = 0; i < n; ++i)
        out[i] = kAlphabet[raw[i] % 32];
    return out;
}

}  // namespace keel
