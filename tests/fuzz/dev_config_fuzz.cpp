// Fuzzer for the "dev" manifest section: any bytes give a configuration or an
// error naming where, never a crash or an exception.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dev/dev_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto c = keel::dev::parse_dev_config(text);
    if (!c && c.error().message().rfind("dev", 0) != 0) std::abort();  // errors name their path
    return 0;
}
