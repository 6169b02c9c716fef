// The one way a test skips: because this machine lacks something it needs (a
// facility: root, network namespaces, QEMU, nats.js, a tool). Outside CI that is
// a visible skip naming the facility; with CI=true it fails the test, so a CI
// machine that lacks a facility cannot go green with the tests that need it
// unrun, unless the facility is in tests/support/allowed-skips with the reason
// it may be missing there. Every skip is also appended to $KEEL_SKIP_LOG (when
// set) for the summary `make test` prints at the end (scripts/test-summary).
//
//   KEEL_SKIP("mkfs.ext4", "mkfs.ext4 is not installed (e2fsprogs)");
//   KEEL_SKIP_IF_MISSING(netns_unavailable());   // a std::optional<keel::Missing>
//
// Both return from the calling test body or SetUp(). Policy: tests/README.md.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace keel {

// What a test needs and this machine lacks. `facility` is a short name, the same
// everywhere (root, namespaces, qemu, nats.js, or a tool's command name); `why`
// says what is missing and where to get it.
struct Missing {
    std::string facility;
    std::string why;
};

// True when the CI environment variable is set to "true" (as CI services set it).
bool under_ci();

// True when tests/support/allowed-skips lists `facility`: it may skip under CI too.
bool skip_allowed(std::string_view facility);

// Logs the skip of the current test and returns the message to report; true
// when the test is to skip, false when it is to fail (CI=true, not allowed).
bool record_skip(const Missing& missing, std::string* message);

// "facility: why" (the first line of a helper script's answer) as a Missing;
// the whole text as `why` of facility "unknown" when it has no such prefix.
Missing parse_missing(std::string_view line);

}  // namespace keel

#define KEEL_SKIP_IF_MISSING(missing_opt)                                       \
    do {                                                                        \
        if (const std::optional<::keel::Missing> keel_missing_ = (missing_opt)) \
            KEEL_SKIP_MISSING_(*keel_missing_);                                 \
    } while (0)

#define KEEL_SKIP(facility, why) KEEL_SKIP_MISSING_((::keel::Missing{(facility), (why)}))

#define KEEL_SKIP_MISSING_(missing)                              \
    do {                                                         \
        std::string keel_skip_message_;                          \
        if (::keel::record_skip((missing), &keel_skip_message_)) \
            GTEST_SKIP() << keel_skip_message_;                  \
        else                                                     \
            GTEST_FAIL() << keel_skip_message_;                  \
    } while (0)
