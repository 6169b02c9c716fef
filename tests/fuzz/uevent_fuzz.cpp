// Fuzzer for the uevent parsers: whatever the bytes, no crash; an accepted
// datagram satisfies every invariant the daemon relies on (safe DEVPATH, known
// action, valid keys, SEQNUM last), none of its proper prefixes is accepted, and
// its JSON and subject forms are valid.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "bus/protocol/subject.h"
#include "dev/device.h"
#include "dev/uevent_parser.h"

using namespace keel::dev;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view buf(reinterpret_cast<const char*>(data), size);
    UeventView v;
    if (parse_uevent(buf, &v)) {
        if (!known_action(v.action) || !safe_devpath(v.devpath) || v.subsystem.empty())
            std::abort();
        if (v.env.empty() || v.env.back().first != "SEQNUM" || v.env.size() > kMaxUeventFields)
            std::abort();
        for (const auto& [k, val] : v.env)
            if (!valid_key(k) || val.find('\n') != std::string_view::npos) std::abort();
        UeventView p;
        for (size_t n = 0; n < buf.size(); n += 1 + buf.size() / 64)
            if (parse_uevent(buf.substr(0, n), &p)) std::abort();
        Device d = Device::from_uevent(v);
        auto j = nlohmann::json::parse(d.to_json(), nullptr, false);
        if (j.is_discarded() || !j.is_object()) std::abort();
        if (!keel::bus::is_valid_publish_subject(hardware_subject(v.subsystem, v.action)))
            std::abort();
    }
    std::vector<Field> env;
    if (parse_uevent_file(buf, &env))
        for (const auto& [k, val] : env)
            if (!valid_key(k)) std::abort();
    return 0;
}
