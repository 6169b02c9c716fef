#include "base/random.h"

#include <sys/random.h>

#include <chrono>
#include <vector>

namespace keel {

std::string random_token(size_t n) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::vector<unsigned char> raw(n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::getrandom(raw.data() + got, n - got, 0);
        if (r <= 0) break;
        got += static_cast<size_t>(r);
    }
    // getrandom cannot fail after boot-time entropy is ready; the clock is a last resort.
    auto t = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = got; i < n; ++i) raw[i] = static_cast<unsigned char>((t >> ((i % 8) * 8)) ^ (i * 131));
    std::string out(n, 'A');
    for (size_t i = 0; i < n; ++i) out[i] = kAlphabet[raw[i] % 32];
    return out;
}

}  // namespace keel
