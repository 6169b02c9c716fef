// SHA-256 (OpenSSL EVP) as lowercase hex, for checking .debs against system.lock.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::image {

std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file(const std::string& path);

}  // namespace keel::image
