#include "base/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

namespace keel {
namespace {

TEST(Signals, NamesWithOrWithoutSigInAnyCase) {
    EXPECT_EQ(signal_from_name("TERM"), SIGTERM);
    EXPECT_EQ(signal_from_name("SIGTERM"), SIGTERM);
    EXPECT_EQ(signal_from_name("sigusr1"), SIGUSR1);
    EXPECT_EQ(signal_from_name("hup"), SIGHUP);
    EXPECT_EQ(signal_from_name("NOPE"), 0);
    EXPECT_EQ(signal_from_name("SIG"), 0);
    EXPECT_EQ(signal_from_name(""), 0);
    EXPECT_EQ(signal_from_name("TERMX"), 0);
}

TEST(Signals, NumbersToNames) {
    EXPECT_STREQ(signal_to_name(SIGTERM), "TERM");
    EXPECT_STREQ(signal_to_name(SIGWINCH), "WINCH");
    EXPECT_EQ(std::string(signal_to_name(SIGRTMIN + 3)), "RTMIN+3");
    EXPECT_EQ(signal_to_name(0), nullptr);
    EXPECT_EQ(signal_to_name(NSIG + 5), nullptr);
    for (int sig = 1; sig < SIGRTMIN; ++sig) {
        if (const char* name = signal_to_name(sig)) {
            EXPECT_EQ(signal_from_name(name), sig) << name;
        }
    }
}

}  // namespace
}  // namespace keel
