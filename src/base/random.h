// Random identifiers (server ids, inbox prefixes, temporary names) and seeds.
// They are names, not secrets: they never wait for the kernel's entropy. Early
// in boot (a guest without a hardware RNG under TCG) a blocking getrandom(2)
// held every keel daemon for over a second; GRND_INSECURE (Linux 5.6) gives
// bytes from the same generator at once.
#pragma once

#include <cstddef>
#include <string>

namespace keel {

// Fills `out` without blocking: getrandom(GRND_INSECURE), else GRND_NONBLOCK, else
// bytes mixed from the clock (only before the kernel's generator has any seed).
void random_bytes(void* out, size_t n);

// `n` characters from [A-Z2-7] (base32 alphabet: case-insensitive-safe, subject-token-safe).
std::string random_token(size_t n);

}  // namespace keel
