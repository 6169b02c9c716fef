#include "bus/protocol/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel::bus {
namespace {

// Records every callback as one line of text, so whole and split feeds can be compared.
class Recorder : public ParserSink {
  public:
    std::string log;
    bool stop_on_pub = false;

    bool on_connect(std::string_view j) override { return add("CONNECT " + std::string(j)); }
    bool on_info(std::string_view j) override { return add("INFO " + std::string(j)); }
    bool on_pub(const MsgArgs& a, std::string_view p) override {
        add("PUB " + describe(a) + " [" + std::string(p) + "]");
        return !stop_on_pub;
    }
    bool on_msg(const MsgArgs& a, std::string_view p) override {
        return add("MSG " + describe(a) + " sid=" + std::string(a.sid) + " [" + std::string(p) +
                   "]");
    }
    bool on_sub(std::string_view s, std::string_view q, std::string_view sid) override {
        return add("SUB " + std::string(s) + " q=" + std::string(q) + " sid=" + std::string(sid));
    }
    bool on_unsub(std::string_view sid, int64_t max) override {
        return add("UNSUB " + std::string(sid) + " " + std::to_string(max));
    }
    bool on_ping() override { return add("PING"); }
    bool on_pong() override { return add("PONG"); }
    bool on_ok() override { return add("+OK"); }
    bool on_err(std::string_view t) override { return add("-ERR " + std::string(t)); }

  private:
    static std::string describe(const MsgArgs& a) {
        return std::string(a.subject) + " reply=" + std::string(a.reply) +
               " hdr=" + std::to_string(a.header_len) + " total=" + std::to_string(a.total_len);
    }
    bool add(const std::string& s) {
        log += s + "\n";
        return true;
    }
};

struct Outcome {
    std::string log;
    ParseError error;
};

Outcome parse_whole(Role role, std::string_view input, ParserLimits limits = {}) {
    Recorder r;
    Parser p(role, r, limits);
    ParseError e = p.feed(input);
    return {r.log, e};
}

// Feeds the input in the given pieces, stopping at the first error.
Outcome parse_pieces(Role role, const std::vector<std::string_view>& pieces,
                     ParserLimits limits = {}) {
    Recorder r;
    Parser p(role, r, limits);
    ParseError e = ParseError::kNone;
    for (auto piece : pieces) {
        e = p.feed(piece);
        if (e != ParseError::kNone) break;
    }
    return {r.log, e};
}

// Every way of cutting the input in two, plus byte by byte, gives the same result.
void expect_split_invariant(Role role, std::string_view input, ParserLimits limits = {}) {
    const Outcome whole = parse_whole(role, input, limits);
    for (size_t cut = 0; cut <= input.size(); ++cut) {
        Outcome split = parse_pieces(role, {input.substr(0, cut), input.substr(cut)}, limits);
        ASSERT_EQ(split.log, whole.log) << "cut at " << cut << " of " << input;
        ASSERT_EQ(split.error, whole.error) << "cut at " << cut << " of " << input;
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < input.size(); ++i)
        bytes.push_back(input.substr(i, 1));
    Outcome single = parse_pieces(role, bytes, limits);
    EXPECT_EQ(single.log, whole.log) << "byte by byte: " << input;
    EXPECT_EQ(single.error, whole.error) << "byte by byte: " << input;
}

const char* const kServerSamples[] = {
    "CONNECT {\"verbose\":false}\r\nPING\r\n",
    "CONNECT{\"a\":1}\r\n",
    "PUB foo 5\r\nhello\r\n",
    "PUB foo.bar _INBOX.1 3\r\nabc\r\nPUB x 0\r\n\r\n",
    "pub foo 2\r\nhi\r\n",
    "PUB\tfoo\t  2\r\nhi\r\n",
    "PUB foo 4\r\n\r\n\r\n\r\n",  // payload that is itself CRLFs
    "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    "HPUB foo reply 12 12\r\nNATS/1.0\r\n\r\n\r\n",
    "SUB foo 1\r\nSUB foo.* q 2\r\nSUB > 3\r\n",
    "UNSUB 1\r\nUNSUB 2 10\r\nUNSUB 3 x\r\n",
    "PING\r\nPONG\r\nping\nPINGxyz\r\n+OK\r\n",
    "-ERR 'Unknown Protocol Operation'\r\n",
    "INFO {\"server_id\":\"x\"}\r\n",
    "PUB foo 11\r\nhello world\r\nSUB foo 1\r\nPING\r\n",
};

TEST(Parser, ServerSamplesAreSplitInvariant) {
    for (const char* s : kServerSamples)
        expect_split_invariant(Role::kServer, s);
}

TEST(Parser, ClientSamplesAreSplitInvariant) {
    const char* const samples[] = {
        "INFO {\"server_id\":\"abc\",\"max_payload\":1048576} \r\n",
        "MSG foo 1 5\r\nhello\r\n",
        "MSG foo.bar 22 _INBOX.x.1 3\r\nabc\r\n",
        "HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        "HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
        "PING\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"x\"'\r\nPONG\r\n",
    };
    for (const char* s : samples)
        expect_split_invariant(Role::kClient, s);
}

TEST(Parser, DecodesCommands) {
    auto o = parse_whole(Role::kServer,
                         "CONNECT {}\r\nPUB a.b r 3\r\nxyz\r\nHPUB h 12 13\r\nNATS/1.0\r\n\r\n!\r\n"
                         "SUB s q 9\r\nUNSUB 9 2\r\nPING\r\n");
    EXPECT_EQ(o.error, ParseError::kNone);
    EXPECT_EQ(o.log,
              "CONNECT {}\n"
              "PUB a.b reply=r hdr=-1 total=3 [xyz]\n"
              "PUB h reply= hdr=12 total=13 [NATS/1.0\r\n\r\n!]\n"
              "SUB s q=q sid=9\n"
              "UNSUB 9 2\n"
              "PING\n");
}

TEST(Parser, MsgWithReplyAndHeaders) {
    auto o = parse_whole(Role::kClient, "HMSG a 7 r 12 14\r\nNATS/1.0\r\n\r\nok\r\n");
    EXPECT_EQ(o.log, "MSG a reply=r hdr=12 total=14 sid=7 [NATS/1.0\r\n\r\nok]\n");
}

// nats-server's TestShouldFail list, plus the payload framing cases.
TEST(Parser, RejectsWhatNatsServerRejects) {
    struct Case {
        const char* input;
        ParseError error;
    };
    const Case cases[] = {
        {"xxx", ParseError::kUnknownOp},
        {"Px", ParseError::kUnknownOp},
        {"PIx", ParseError::kUnknownOp},
        {"PINx", ParseError::kUnknownOp},
        {" PING", ParseError::kUnknownOp},
        {"POx", ParseError::kUnknownOp},
        {"PONx", ParseError::kUnknownOp},
        {"+x", ParseError::kUnknownOp},
        {"+Ox", ParseError::kUnknownOp},
        {"-x", ParseError::kUnknownOp},
        {"-Ex", ParseError::kUnknownOp},
        {"-ERx", ParseError::kUnknownOp},
        {"-ERRx", ParseError::kUnknownOp},
        {"Cx", ParseError::kUnknownOp},
        {"COx", ParseError::kUnknownOp},
        {"CONx", ParseError::kUnknownOp},
        {"CONNx", ParseError::kUnknownOp},
        {"CONNEx", ParseError::kUnknownOp},
        {"CONNECx", ParseError::kUnknownOp},
        {"PUx", ParseError::kUnknownOp},
        {"PUB foo\r\n", ParseError::kBadArguments},
        {"PUB  \r\n", ParseError::kBadArguments},
        {"PUB foo bar       \r\n", ParseError::kBadArguments},
        {"PUB foo 2\r\nok \r\n", ParseError::kUnknownOp},
        {"PUB foo 2\r\nok\r \n", ParseError::kUnknownOp},
        {"Sx", ParseError::kUnknownOp},
        {"SUx", ParseError::kUnknownOp},
        {"SUB\r\n", ParseError::kUnknownOp},
        {"SUB  \r\n", ParseError::kBadArguments},
        {"SUB foo\r\n", ParseError::kBadArguments},
        {"SUB foo bar baz 22\r\n", ParseError::kBadArguments},
        {"Ux", ParseError::kUnknownOp},
        {"UNx", ParseError::kUnknownOp},
        {"UNSx", ParseError::kUnknownOp},
        {"UNSUx", ParseError::kUnknownOp},
        {"UNSUBx", ParseError::kUnknownOp},
        {"UNSUBUNSUB 1\r\n", ParseError::kUnknownOp},
        {"UNSUB_2\r\n", ParseError::kUnknownOp},
        {"UNSUB_UNSUB_UNSUB 2\r\n", ParseError::kUnknownOp},
        {"UNSUB_\t2\r\n", ParseError::kUnknownOp},
        {"UNSUB\r\n", ParseError::kUnknownOp},
        {"UNSUB \r\n", ParseError::kBadArguments},
        {"UNSUB          \t       \r\n", ParseError::kBadArguments},
        {"Ix", ParseError::kUnknownOp},
        {"INx", ParseError::kUnknownOp},
        {"INFx", ParseError::kUnknownOp},
        {"\r\n", ParseError::kUnknownOp},
        {"HPUB foo 20 12\r\n", ParseError::kBadArguments},
        {"HPUB foo 12\r\n", ParseError::kBadArguments},
        {"PUB foo -1\r\n", ParseError::kBadArguments},
        {"PUB foo 1234567890\r\n", ParseError::kBadArguments},  // more than 9 digits
        {"MSG foo 1 2\r\nhi\r\n", ParseError::kUnknownOp},      // MSG is server-to-client
    };
    for (const auto& c : cases) {
        auto o = parse_whole(Role::kServer, c.input);
        EXPECT_EQ(o.error, c.error) << "input: " << c.input;
        expect_split_invariant(Role::kServer, c.input);
    }
}

TEST(Parser, ClientRoleRejectsClientCommands) {
    for (const char* s :
         {"PUB foo 1\r\nx\r\n", "SUB foo 1\r\n", "CONNECT {}\r\n", "Mx", "MSGx", "MSG  \r\n"}) {
        EXPECT_NE(parse_whole(Role::kClient, s).error, ParseError::kNone) << s;
    }
}

TEST(Parser, MaxPayloadIsCheckedOnTheControlLine) {
    ParserLimits limits{4096, 1024};
    // No payload byte has arrived, yet the error is already known.
    auto o = parse_whole(Role::kServer, "PUB foo 1025\r\n", limits);
    EXPECT_EQ(o.error, ParseError::kMaxPayload);
    EXPECT_EQ(parse_whole(Role::kServer, "HPUB foo 10 2000\r\n", limits).error,
              ParseError::kMaxPayload);
    std::string ok = "PUB foo 1024\r\n" + std::string(1024, 'x') + "\r\n";
    EXPECT_EQ(parse_whole(Role::kServer, ok, limits).error, ParseError::kNone);

    // The body arriving with the line, or after it, is never held.
    Recorder r;
    Parser p(Role::kServer, r, limits);
    EXPECT_EQ(p.feed("PUB foo 2000\r\n" + std::string(500, 'x')), ParseError::kMaxPayload);
    EXPECT_EQ(p.buffered(), 0u);
    EXPECT_EQ(p.feed(std::string(1500, 'x') + "\r\n"), ParseError::kMaxPayload);
    EXPECT_EQ(p.buffered(), 0u);
    EXPECT_EQ(r.log, "");
}

TEST(Parser, MaxControlLineWholeAndSplit) {
    ParserLimits limits{64, 1 << 20};
    std::string subject(70, 'a');
    std::string line = "SUB " + subject + " 1\r\n";
    EXPECT_EQ(parse_whole(Role::kServer, line, limits).error, ParseError::kMaxControlLine);
    // Split: the limit is hit while the line is still incomplete, before its newline.
    Recorder r;
    Parser p(Role::kServer, r, limits);
    EXPECT_EQ(p.feed("SUB " + std::string(40, 'a')), ParseError::kNone);
    EXPECT_EQ(p.feed(std::string(40, 'a')), ParseError::kMaxControlLine);
    // Exactly at the limit is fine: the count covers the arguments after the verb.
    std::string edge = "SUB " + std::string(62, 'b') + " 1\r\n";
    EXPECT_EQ(parse_whole(Role::kServer, edge, limits).error, ParseError::kNone);
}

TEST(Parser, NoLimitOnIgnoredTextAfterPing) {
    // Nothing is buffered after PING, so no limit applies (as in nats-server).
    Recorder r;
    Parser p(Role::kServer, r, ParserLimits{16, 1024});
    EXPECT_EQ(p.feed("PING" + std::string(100000, 'z')), ParseError::kNone);
    EXPECT_EQ(p.feed("\r\n"), ParseError::kNone);
    EXPECT_EQ(r.log, "PING\n");
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(Parser, RequireConnectFirst) {
    Recorder r;
    Parser p(Role::kServer, r);
    p.require_connect_first(true);
    EXPECT_EQ(p.feed("PING\r\n"), ParseError::kAuthViolation);

    Recorder r2;
    Parser p2(Role::kServer, r2);
    p2.require_connect_first(true);
    EXPECT_EQ(p2.feed("connect {}\r\n"), ParseError::kNone);
    p2.require_connect_first(false);
    EXPECT_EQ(p2.feed("PING\r\n"), ParseError::kNone);
    EXPECT_EQ(r2.log, "CONNECT {}\nPING\n");
}

TEST(Parser, StopsWhenTheSinkSaysSo) {
    Recorder r;
    r.stop_on_pub = true;
    Parser p(Role::kServer, r);
    EXPECT_EQ(p.feed("PUB a 1\r\nx\r\nPING\r\n"), ParseError::kStopped);
    EXPECT_EQ(r.log, "PUB a reply= hdr=-1 total=1 [x]\n");
    EXPECT_EQ(p.feed("PING\r\n"), ParseError::kStopped);  // refuses further input
}

TEST(Parser, ErrorIsSticky) {
    Recorder r;
    Parser p(Role::kServer, r);
    EXPECT_EQ(p.feed("xyz"), ParseError::kUnknownOp);
    EXPECT_EQ(p.feed("PING\r\n"), ParseError::kUnknownOp);
    EXPECT_EQ(r.log, "");
}

TEST(Parser, LargeSplitPayloadIsReleasedAfterUse) {
    Recorder r;
    Parser p(Role::kServer, r);
    std::string body(500000, 'q');
    std::string msg = "PUB big 500000\r\n" + body + "\r\n";
    EXPECT_EQ(p.feed(msg.substr(0, 1000)), ParseError::kNone);
    EXPECT_GT(p.buffered(), 0u);
    EXPECT_EQ(p.feed(msg.substr(1000)), ParseError::kNone);
    EXPECT_EQ(p.buffered(), 0u);
    EXPECT_NE(r.log.find("PUB big reply= hdr=-1 total=500000"), std::string::npos);
}

TEST(Parser, ParseSizeMatchesNatsServer) {
    EXPECT_EQ(parse_size("0"), 0);
    EXPECT_EQ(parse_size("123456789"), 123456789);
    EXPECT_EQ(parse_size("1234567890"), -1);
    EXPECT_EQ(parse_size(""), -1);
    EXPECT_EQ(parse_size("12a"), -1);
    EXPECT_EQ(parse_size("-1"), -1);
}

}  // namespace
}  // namespace keel::bus
