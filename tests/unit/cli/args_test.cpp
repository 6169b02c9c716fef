#include "cli/args.h"

#include <gtest/gtest.h>

#include <vector>

namespace keel::cli {
namespace {

struct Argv {
    std::vector<std::string> storage;
    std::vector<char*> ptrs;
    explicit Argv(std::initializer_list<const char*> a) {
        for (const char* s : a)
            storage.emplace_back(s);
        for (auto& s : storage)
            ptrs.push_back(s.data());
    }
    int argc() { return static_cast<int>(ptrs.size()); }
    char** argv() { return ptrs.data(); }
};

TEST(Args, OptionsAndPositionals) {
    std::string subject, data, server;
    bool given = false, json = false;
    int64_t count = 1, size = 0;
    std::vector<std::string> headers = {"default"};
    std::chrono::nanoseconds t{0};
    Args a("pub", "SUBJECT [DATA]", "test");
    a.positional("SUBJECT", "", &subject, true);
    a.positional("DATA", "", &data, false, &given);
    a.option("count", 'c', "N", "", &count);
    a.option("server", 0, "URL", "", &server);
    a.flag("json", 'j', "", &json);
    a.list_option("header", 'H', "KV", "", &headers);
    a.size_option("size", "", &size);
    a.duration_option("timeout", "", &t);
    Argv v{"pub", "-c",     "5",    "--server=nats://x", "foo",  "", "-j", "-H", "a:b", "--header",
           "c:d", "--size", "2KiB", "--timeout",         "250ms"};
    EXPECT_EQ(a.parse(v.argc(), v.argv()), std::nullopt);
    EXPECT_EQ(subject, "foo");
    EXPECT_TRUE(given);  // an empty DATA is still given
    EXPECT_EQ(data, "");
    EXPECT_EQ(count, 5);
    EXPECT_EQ(server, "nats://x");
    EXPECT_TRUE(json);
    EXPECT_EQ(headers, (std::vector<std::string>{"a:b", "c:d"}));
    EXPECT_EQ(size, 2048);
    EXPECT_EQ(t, std::chrono::milliseconds(250));
}

TEST(Args, UsageErrorsExit100) {
    std::string s;
    int64_t n = 0;
    Args a("x", "S", "test");
    a.positional("S", "", &s, true);
    a.option("n", 'n', "N", "", &n);
    Argv missing{"x"};
    EXPECT_EQ(a.parse(missing.argc(), missing.argv()), kExitUsage);
    Argv unknown{"x", "--nope", "s"};
    EXPECT_EQ(a.parse(unknown.argc(), unknown.argv()), kExitUsage);
    Argv bad{"x", "-n", "abc", "s"};
    EXPECT_EQ(a.parse(bad.argc(), bad.argv()), kExitUsage);
    Argv extra{"x", "s", "t"};
    EXPECT_EQ(a.parse(extra.argc(), extra.argv()), kExitUsage);
    Argv help{"x", "--help"};
    testing::internal::CaptureStdout();
    EXPECT_EQ(a.parse(help.argc(), help.argv()), kExitOk);
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_NE(out.find("Usage: keel x [OPTIONS] S"), std::string::npos);
    EXPECT_NE(out.find("-n, --n N"), std::string::npos);
}

}  // namespace
}  // namespace keel::cli
