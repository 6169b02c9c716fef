// Encoders, headers and the handshake documents.
#include <gtest/gtest.h>

#include "bus/protocol/encoder.h"
#include "bus/protocol/errors.h"
#include "bus/protocol/handshake.h"
#include "bus/protocol/headers.h"

namespace keel::bus {
namespace {

TEST(Encoder, MsgAndHmsg) {
    ByteBuffer b;
    encode::msg(b, "foo.bar", "7", "", -1, "hello");
    encode::msg(b, "foo", "12", "_INBOX.1", -1, "");
    encode::msg(b, "h", "1", "r", 12, "NATS/1.0\r\n\r\nhi");
    EXPECT_EQ(b.view(),
              "MSG foo.bar 7 5\r\nhello\r\n"
              "MSG foo 12 _INBOX.1 0\r\n\r\n"
              "HMSG h 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
}

TEST(Encoder, PubSubUnsubErr) {
    ByteBuffer b;
    encode::pub(b, "a", "", "", "xy");
    encode::pub(b, "a", "r", "NATS/1.0\r\n\r\n", "z");
    encode::sub(b, "a.*", "", "1");
    encode::sub(b, "a.*", "q", "2");
    encode::unsub(b, "1");
    encode::unsub(b, "2", 5);
    encode::err(b, err::kStaleConnection);
    EXPECT_EQ(b.view(),
              "PUB a 2\r\nxy\r\n"
              "HPUB a r 12 13\r\nNATS/1.0\r\n\r\nz\r\n"
              "SUB a.* 1\r\nSUB a.* q 2\r\n"
              "UNSUB 1\r\nUNSUB 2 5\r\n"
              "-ERR 'Stale Connection'\r\n");
}

TEST(Encoder, PutUint) {
    char buf[24];
    EXPECT_EQ(std::string(buf, encode::put_uint(buf, 0)), "0");
    EXPECT_EQ(std::string(buf, encode::put_uint(buf, 18446744073709551615ULL)),
              "18446744073709551615");
}

TEST(Errors, GoQuotedSubjects) {
    EXPECT_EQ(err::publish_violation("secret.x"),
              "Permissions Violation for Publish to \"secret.x\"");
    EXPECT_EQ(err::subscription_violation("a", "q"),
              "Permissions Violation for Subscription to \"a\" using queue \"q\"");
    EXPECT_EQ(err::go_quote("a\"b\\c\x01"), "\"a\\\"b\\\\c\\x01\"");
}

TEST(Headers, RoundTripAndStatus) {
    Headers h;
    h.add("Trace", "1");
    h.add("Multi", "a");
    h.add("Multi", "b");
    std::string enc = encode_headers(h);
    EXPECT_EQ(enc, "NATS/1.0\r\nTrace: 1\r\nMulti: a\r\nMulti: b\r\n\r\n");
    auto back = parse_headers(enc);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->fields.size(), 3u);
    EXPECT_EQ(back->get("trace"), "1");
    auto s = parse_headers("NATS/1.0 503\r\n\r\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, 503);
    auto d = parse_headers("NATS/1.0 408 Request Timeout\r\n\r\n");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->description, "Request Timeout");
    EXPECT_FALSE(parse_headers("HTTP/1.1\r\n\r\n"));
    EXPECT_FALSE(parse_headers("NATS/1.0\r\nno colon\r\n\r\n"));
}

TEST(Handshake, ConnectDefaultsAndTypes) {
    auto o = parse_connect("{}");
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->verbose);  // nats-server's defaults
    EXPECT_TRUE(o->pedantic);
    EXPECT_TRUE(o->echo);
    o = parse_connect(
        R"({"verbose":false,"echo":false,"headers":true,"no_responders":true,"user":"u","pass":"p","protocol":1,"x":[1]})");
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->verbose);
    EXPECT_FALSE(o->echo);
    EXPECT_EQ(o->user, "u");
    EXPECT_FALSE(parse_connect("{bad"));
    EXPECT_FALSE(parse_connect(""));
    EXPECT_FALSE(parse_connect(R"({"verbose":"yes"})"));
    EXPECT_FALSE(parse_connect(R"({"protocol":1.5})"));
    EXPECT_TRUE(parse_connect(R"({"name":null})"));
}

TEST(Handshake, InfoRoundTrip) {
    ServerInfo i;
    i.server_id = "NABC";
    i.port = 4222;
    i.host = "127.0.0.1";
    i.auth_required = true;
    i.client_id = 9;
    auto back = parse_info(to_json(i));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->server_id, "NABC");
    EXPECT_EQ(back->port, 4222);
    EXPECT_TRUE(back->auth_required);
    EXPECT_EQ(back->client_id, 9u);
    EXPECT_EQ(back->max_payload, 1024 * 1024);
}

}  // namespace
}  // namespace keel::bus
