#include "lua/luad/request.h"

#include <cstring>

#include "lua/luad/wire.h"

namespace keel::luad {
namespace {

constexpr size_t kMaxCount = 1 << 16;  // arguments or environment entries

void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get_u32(const char* p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

void put_str(std::string& out, std::string_view s) {
    put_u32(out, static_cast<uint32_t>(s.size()));
    out += s;
}

// Reads the body's fields in order; every read is bounds-checked.
class Reader {
  public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool u32(uint32_t* v) {
        if (s_.size() - pos_ < 4) return false;
        *v = get_u32(s_.data() + pos_);
        pos_ += 4;
        return true;
    }
    bool str(std::string* out) {
        uint32_t n;
        if (!u32(&n) || s_.size() - pos_ < n) return false;
        out->assign(s_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    bool at_end() const { return pos_ == s_.size(); }
    size_t left() const { return s_.size() - pos_; }

  private:
    std::string_view s_;
    size_t pos_ = 0;
};

}  // namespace

std::string encode_request(const RunRequest& r) {
    std::string body;
    put_u32(body, r.umask);
    put_u32(body, static_cast<uint32_t>(r.args.size()));
    put_u32(body, static_cast<uint32_t>(r.env.size()));
    put_str(body, r.cwd);
    put_str(body, r.script);
    for (const auto& a : r.args)
        put_str(body, a);
    for (const auto& e : r.env)
        put_str(body, e);
    std::string out(KEEL_RUN_MAGIC, KEEL_RUN_MAGIC_LEN);
    put_u32(out, static_cast<uint32_t>(body.size()));
    return out + body;
}

void RequestParser::fail(std::string why) {
    state_ = State::kError;
    error_ = std::move(why);
    buf_.clear();
}

size_t RequestParser::feed(std::string_view data) {
    size_t used = 0;
    while (state_ == State::kNeedMore && used < data.size()) {
        size_t want = have_header_ ? body_len_ : KEEL_RUN_HEADER_LEN;
        size_t take = std::min(want - buf_.size(), data.size() - used);
        buf_.append(data.data() + used, take);
        used += take;
        if (buf_.size() < want) break;
        if (!have_header_) {
            if (std::memcmp(buf_.data(), KEEL_RUN_MAGIC, KEEL_RUN_MAGIC_LEN) != 0) {
                fail("not a keel-run request (bad magic)");
                break;
            }
            body_len_ = get_u32(buf_.data() + KEEL_RUN_MAGIC_LEN);
            if (body_len_ > max_) {
                fail("request of " + std::to_string(body_len_) + " bytes exceeds the limit of " +
                     std::to_string(max_));
                break;
            }
            have_header_ = true;
            buf_.clear();
            if (body_len_ == 0) {
                fail("empty request");
                break;
            }
            continue;
        }
        decode();
    }
    return used;
}

size_t RequestParser::wanted() const {
    if (state_ != State::kNeedMore) return 0;
    return (have_header_ ? body_len_ : KEEL_RUN_HEADER_LEN) - buf_.size();
}

void RequestParser::decode() {
    Reader r(buf_);
    uint32_t argc, envc;
    if (!r.u32(&req_.umask) || !r.u32(&argc) || !r.u32(&envc))
        return fail("truncated request header");
    if (req_.umask > 0777) return fail("invalid umask");
    // Each string needs at least its 4-byte length: bound the counts by the body.
    if (argc > kMaxCount || envc > kMaxCount || (static_cast<size_t>(argc) + envc) * 4 > r.left())
        return fail("too many arguments or environment entries");
    if (!r.str(&req_.cwd) || !r.str(&req_.script)) return fail("truncated request");
    req_.args.resize(argc);
    for (auto& a : req_.args)
        if (!r.str(&a)) return fail("truncated argument list");
    req_.env.resize(envc);
    for (auto& e : req_.env)
        if (!r.str(&e)) return fail("truncated environment");
    if (!r.at_end()) return fail("trailing bytes after the request");
    auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
    if (req_.script.empty()) return fail("no script given");
    if (has_nul(req_.script) || has_nul(req_.cwd)) return fail("NUL byte in a path");
    if (!req_.cwd.empty() && req_.cwd[0] != '/') return fail("working directory is not absolute");
    for (const auto& a : req_.args)
        if (has_nul(a)) return fail("NUL byte in an argument");
    for (const auto& e : req_.env) {
        auto eq = e.find('=');
        if (eq == std::string::npos || eq == 0 || has_nul(e))
            return fail("invalid environment entry");
    }
    buf_.clear();
    buf_.shrink_to_fit();
    state_ = State::kDone;
}

}  // namespace keel::luad
