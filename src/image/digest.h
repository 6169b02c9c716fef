// SHA-256 (OpenSSL EVP) as lowercase hex: .debs against system.lock, build digests,
// reproducibility checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::image {

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::string_view bytes);
    std::string hex();  // finishes; the object is spent

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view bytes);
Result<std::string> sha256_file(const std::string& path);

}  // namespace keel::image
