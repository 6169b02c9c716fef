// The skip policy itself (tests/support/skip.h): what a skip says, when CI=true
// turns it into a failure, and the log line the summary reads.
#include "support/skip.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

namespace keel {
namespace {

// Sets an environment variable for one scope, restoring what was there.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        had_ = ::getenv(name) != nullptr;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (had_)
            ::setenv(name_, old_.c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

TEST(Skip, ParsesFacilityAndWhyFromAScriptsFirstLine) {
    Missing m = parse_missing("qemu-system-x86_64: qemu-system-x86_64 is not installed\nmore\n");
    EXPECT_EQ(m.facility, "qemu-system-x86_64");
    EXPECT_EQ(m.why, "qemu-system-x86_64 is not installed");
    // No "word: " prefix: the whole text, facility unknown (never allowed in CI).
    m = parse_missing("the guest hung: no marker");
    EXPECT_EQ(m.facility, "unknown");
    EXPECT_EQ(m.why, "the guest hung: no marker");
    EXPECT_EQ(parse_missing(": x").facility, "unknown");
}

TEST(Skip, OnlyTheListedFacilitiesAreAllowed) {
    EXPECT_TRUE(skip_allowed("rlimit-as-under-asan"));
    EXPECT_TRUE(skip_allowed("modular-host-kernel"));
    EXPECT_FALSE(skip_allowed("root"));
    EXPECT_FALSE(skip_allowed("nats.js"));
    EXPECT_FALSE(skip_allowed("unknown"));
    EXPECT_FALSE(skip_allowed("#"));  // comment lines list nothing
}

TEST(Skip, OutsideCiASkipNamingTheFacilityAndLogged) {
    char path[] = "/tmp/keel-skip-log-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ScopedEnv ci("CI", nullptr), log("KEEL_SKIP_LOG", path);
    EXPECT_FALSE(under_ci());
    std::string msg;
    EXPECT_TRUE(record_skip({"root", "needs root\nto mount"}, &msg));
    EXPECT_EQ(msg, "[missing root] needs root\nto mount");
    std::ifstream in(path);
    std::string logged(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(logged, "Skip.OutsideCiASkipNamingTheFacilityAndLogged\troot\tneeds root to mount\n");
    ::unlink(path);
}

TEST(Skip, UnderCiAFailureUnlessAllowed) {
    char path[] = "/tmp/keel-skip-log-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ScopedEnv ci("CI", "true"), log("KEEL_SKIP_LOG", path);
    EXPECT_TRUE(under_ci());
    std::string msg;
    EXPECT_FALSE(record_skip({"nats.js", "node_modules is missing"}, &msg));
    EXPECT_NE(msg.find("missing facility \"nats.js\": node_modules is missing"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("tests/support/allowed-skips"), std::string::npos) << msg;
    EXPECT_TRUE(record_skip({"rlimit-as-under-asan", "ASan"}, &msg));
    EXPECT_EQ(msg, "[missing rlimit-as-under-asan] ASan");
    // Only the skip is logged: the failure is ctest's to report.
    std::ifstream in(path);
    std::string logged(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(logged, "Skip.UnderCiAFailureUnlessAllowed\trlimit-as-under-asan\tASan\n");
    ::unlink(path);
    ScopedEnv other("CI", "1");
    EXPECT_FALSE(under_ci()) << "CI=true is what CI services set; nothing else counts";
}

}  // namespace
}  // namespace keel
