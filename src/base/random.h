// Random identifiers (server ids, inbox prefixes) from the kernel's CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace keel {

// `n` characters from [A-Z2-7] (base32 alphabet: case-insensitive-safe, subject-token-safe).
std::string random_token(size_t n);

}  // namespace keel
