// Differential fuzzer for the protocol parser: whatever the bytes, it must not
// crash, must hold bounded memory, and must give the same result whether the
// input arrives whole or cut at an arbitrary point.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bus/protocol/parser.h"

namespace {

using namespace keel::bus;

class Log : public ParserSink {
  public:
    std::string text;
    bool on_connect(std::string_view j) override { return add('C', j); }
    bool on_info(std::string_view j) override { return add('I', j); }
    bool on_pub(const MsgArgs& a, std::string_view p) override { return msg('P', a, p); }
    bool on_msg(const MsgArgs& a, std::string_view p) override { return msg('M', a, p); }
    bool on_sub(std::string_view s, std::string_view q, std::string_view sid) override {
        return add('S', std::string(s) + "|" + std::string(q) + "|" + std::string(sid));
    }
    bool on_unsub(std::string_view sid, int64_t max) override {
        return add('U', std::string(sid) + std::to_string(max));
    }
    bool on_ping() override { return add('i', ""); }
    bool on_pong() override { return add('o', ""); }
    bool on_ok() override { return add('+', ""); }
    bool on_err(std::string_view t) override { return add('-', t); }

  private:
    bool add(char tag, std::string_view s) {
        text += tag;
        text += s;
        text += '\n';
        return true;
    }
    bool msg(char tag, const MsgArgs& a, std::string_view p) {
        if (a.total_len != static_cast<int64_t>(p.size())) std::abort();
        if (a.header_len > a.total_len) std::abort();
        return add(tag, std::string(a.subject) + "|" + std::string(a.reply) + "|" +
                            std::string(a.sid) + "|" + std::to_string(a.header_len) + "|" +
                            std::string(p));
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const Role role = (data[0] & 1) ? Role::kClient : Role::kServer;
    const ParserLimits limits{static_cast<size_t>(16 + (data[0] >> 1) * 32),
                              1 + static_cast<int64_t>(data[1]) * 64};
    std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const size_t cut = input.empty() ? 0 : data[1] % (input.size() + 1);

    Log whole_log;
    Parser whole(role, whole_log, limits);
    const ParseError e1 = whole.feed(input);

    Log split_log;
    Parser split(role, split_log, limits);
    ParseError e2 = split.feed(input.substr(0, cut));
    if (e2 == ParseError::kNone) e2 = split.feed(input.substr(cut));
    // Held bytes never exceed one control line plus one payload.
    if (split.buffered() >
        limits.max_control_line + 2 + static_cast<size_t>(limits.max_payload) + 2)
        std::abort();

    if (e1 != e2 || whole_log.text != split_log.text) std::abort();
    return 0;
}
