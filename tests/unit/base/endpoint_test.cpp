#include "base/endpoint.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(Endpoint, ParsesTheFormsUsersType) {
    auto e = parse_endpoint("127.0.0.1:4222");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, Endpoint::Kind::kTcp);
    EXPECT_EQ(e->host, "127.0.0.1");
    EXPECT_EQ(e->port, 4222);

    e = parse_endpoint("nats://alice:pw@localhost:5000");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "localhost");
    EXPECT_EQ(e->port, 5000);
    EXPECT_EQ(e->user, "alice");
    EXPECT_EQ(e->password, "pw");

    e = parse_endpoint("nats://s3cret@10.0.0.1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->token, "s3cret");
    EXPECT_EQ(e->port, 4222);

    e = parse_endpoint("[::1]:7");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->to_string(), "[::1]:7");

    e = parse_endpoint(":9000");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->to_string(), "127.0.0.1:9000");

    for (const char* s :
         {"unix:/run/keel/bus.sock", "unix:///run/keel/bus.sock", "/run/keel/bus.sock"}) {
        e = parse_endpoint(s);
        ASSERT_TRUE(e) << s;
        EXPECT_EQ(e->kind, Endpoint::Kind::kUnix);
        EXPECT_EQ(e->path, "/run/keel/bus.sock");
        EXPECT_EQ(e->to_string(), "unix:/run/keel/bus.sock");
    }
}

TEST(Endpoint, RejectsNonsense) {
    for (const char* s : {"", "host:99999", "host:abc", "[::1", "unix:", "host:12x"}) {
        EXPECT_FALSE(parse_endpoint(s)) << s;
    }
    EXPECT_EQ(parse_endpoint("h:70000").error().message(), "bad port in address 'h:70000'");
}

TEST(Endpoint, ListenReportsWhatAndWhy) {
    auto a = listen_on(*parse_endpoint("127.0.0.1:0"));
    ASSERT_TRUE(a);
    auto port = local_port(a->get());
    ASSERT_TRUE(port);
    auto b = listen_on(*parse_endpoint("127.0.0.1:" + std::to_string(*port)));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message(),
              "cannot listen on 127.0.0.1:" + std::to_string(*port) + ": Address already in use");
}

}  // namespace
}  // namespace keel
