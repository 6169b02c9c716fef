// The keel-run request parser, without sockets: whole, split at every offset,
// and refusing every kind of malformed input.
#include <gtest/gtest.h>

#include <functional>

#include "lua/luad/request.h"

namespace keel::luad {
namespace {

RunRequest sample() {
    RunRequest r;
    r.umask = 027;
    r.cwd = "/home/user";
    r.script = "/usr/bin/script.lua";
    r.args = {"a", "", "with space", std::string("\xff\x01", 2)};
    r.env = {"PATH=/bin", "EMPTY=", "X=a=b"};
    return r;
}

void expect_same(const RunRequest& a, const RunRequest& b) {
    EXPECT_EQ(a.umask, b.umask);
    EXPECT_EQ(a.cwd, b.cwd);
    EXPECT_EQ(a.script, b.script);
    EXPECT_EQ(a.args, b.args);
    EXPECT_EQ(a.env, b.env);
}

TEST(RequestParser, WholeRequest) {
    std::string wire = encode_request(sample());
    RequestParser p(1 << 20);
    EXPECT_EQ(p.feed(wire), wire.size());
    ASSERT_EQ(p.state(), RequestParser::State::kDone) << p.error();
    expect_same(p.request(), sample());
}

TEST(RequestParser, SplitAtEveryOffset) {
    std::string wire = encode_request(sample());
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        RequestParser p(1 << 20);
        EXPECT_EQ(p.feed(std::string_view(wire).substr(0, cut)), cut);
        if (cut < wire.size()) {
            EXPECT_EQ(p.state(), RequestParser::State::kNeedMore) << cut;
        }
        EXPECT_EQ(p.feed(std::string_view(wire).substr(cut)), wire.size() - cut);
        ASSERT_EQ(p.state(), RequestParser::State::kDone) << "cut at " << cut << ": " << p.error();
        expect_same(p.request(), sample());
    }
}

TEST(RequestParser, ByteByByte) {
    std::string wire = encode_request(sample());
    RequestParser p(1 << 20);
    for (char c : wire)
        p.feed(std::string_view(&c, 1));
    ASSERT_EQ(p.state(), RequestParser::State::kDone);
    expect_same(p.request(), sample());
}

TEST(RequestParser, LeavesBytesAfterTheRequest) {
    std::string wire = encode_request(sample());
    std::string more = wire + "\x02\x0f";
    RequestParser p(1 << 20);
    EXPECT_EQ(p.feed(more), wire.size());
    EXPECT_EQ(p.state(), RequestParser::State::kDone);
    EXPECT_EQ(p.feed("xyz"), 0u);
}

// A child reading its request from the client's stream socket asks for wanted()
// bytes at a time: it never reads past the request (what follows are signals).
TEST(RequestParser, WantedNeverReachesPastTheRequest) {
    std::string wire = encode_request(sample());
    RequestParser p(1 << 20);
    EXPECT_EQ(p.wanted(), 12u);
    size_t off = 0;
    int reads = 0;
    while (p.state() == RequestParser::State::kNeedMore) {
        size_t n = std::min<size_t>(p.wanted(), 7);  // a short read now and then
        ASSERT_GT(n, 0u);
        ASSERT_LE(off + p.wanted(), wire.size()) << "asks for bytes beyond the request";
        EXPECT_EQ(p.feed(std::string_view(wire).substr(off, n)), n);
        off += n;
        ++reads;
    }
    EXPECT_EQ(p.state(), RequestParser::State::kDone) << p.error();
    EXPECT_EQ(off, wire.size());
    EXPECT_EQ(p.wanted(), 0u);
    EXPECT_GT(reads, 2);
    RequestParser bad(1 << 20);
    bad.feed("GET / HTTP/1.1\r\n");
    EXPECT_EQ(bad.wanted(), 0u);
}

std::string refused(const std::string& wire, size_t max = 1 << 20) {
    RequestParser p(max);
    p.feed(wire);
    EXPECT_EQ(p.state(), RequestParser::State::kError) << "accepted";
    return p.error();
}

// Rebuilds a request with its body edited by `edit` (header length fixed up).
std::string with_body(const std::function<void(std::string&)>& edit) {
    std::string wire = encode_request(sample());
    std::string body = wire.substr(12);
    edit(body);
    std::string out = wire.substr(0, 8);
    uint32_t n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>((n >> (8 * i)) & 0xff);
    return out + body;
}

TEST(RequestParser, Refusals) {
    EXPECT_NE(refused("GET / HTTP/1.1\r\n\r\n").find("bad magic"), std::string::npos);
    std::string huge = encode_request(sample());
    EXPECT_NE(refused(huge, 16).find("exceeds the limit"), std::string::npos);
    EXPECT_NE(refused(std::string("KEELRUN1\0\0\0\0", 12)).find("empty"), std::string::npos);
    EXPECT_NE(refused(with_body([](std::string& b) { b += "x"; })).find("trailing"),
              std::string::npos);
    EXPECT_NE(refused(with_body([](std::string& b) { b.resize(b.size() - 1); })).find("truncated"),
              std::string::npos);
    EXPECT_NE(refused(with_body([](std::string& b) { b.resize(6); })).find("truncated"),
              std::string::npos);
    // argc claims more strings than the body could hold
    EXPECT_NE(refused(with_body([](std::string& b) {
                  b[4] = '\xff';
                  b[5] = '\x0f';
              })).find("too many"),
              std::string::npos);
    EXPECT_NE(refused(with_body([](std::string& b) {
                  b[0] = '\xff';
                  b[1] = '\x0f';
              })).find("umask"),
              std::string::npos);
    RunRequest r = sample();
    r.cwd = "relative";
    EXPECT_NE(refused(encode_request(r)).find("absolute"), std::string::npos);
    r = sample();
    r.script = "";
    EXPECT_NE(refused(encode_request(r)).find("no script"), std::string::npos);
    r = sample();
    r.script = std::string("a\0b", 3);
    EXPECT_NE(refused(encode_request(r)).find("NUL"), std::string::npos);
    r = sample();
    r.args.push_back(std::string("x\0", 2));
    EXPECT_NE(refused(encode_request(r)).find("NUL"), std::string::npos);
    r = sample();
    r.env.push_back("NOEQUALS");
    EXPECT_NE(refused(encode_request(r)).find("environment"), std::string::npos);
    r = sample();
    r.env.push_back("=value");
    EXPECT_NE(refused(encode_request(r)).find("environment"), std::string::npos);
}

TEST(RequestParser, EmptyCwdIsAllowed) {
    RunRequest r = sample();
    r.cwd.clear();
    RequestParser p(1 << 20);
    p.feed(encode_request(r));
    ASSERT_EQ(p.state(), RequestParser::State::kDone) << p.error();
    EXPECT_EQ(p.request().cwd, "");
}

TEST(RequestParser, NothingAfterAnError) {
    RequestParser p(1 << 20);
    p.feed("XXXXXXXXXXXX");
    ASSERT_EQ(p.state(), RequestParser::State::kError);
    EXPECT_EQ(p.feed(encode_request(sample())), 0u);
    EXPECT_EQ(p.state(), RequestParser::State::kError);
}

}  // namespace
}  // namespace keel::luad
