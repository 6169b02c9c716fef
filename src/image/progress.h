// Progress of long build steps (resolving, downloading, extracting, writing).
// The terminal implementation lives with the keel-image CLI; library code only
// reports through this interface.
#pragma once

#include <cstdint>
#include <string_view>

namespace keel::image {

class Progress {
  public:
    virtual ~Progress() = default;
    // A new step begins: "resolving 12 packages", "writing initramfs".
    virtual void step(std::string_view what) = 0;
    // Within the current step: `done` of `total` units (bytes or items; total 0 = unknown).
    virtual void advance(uint64_t done, uint64_t total) = 0;
    // A line the user should see whatever the verbosity ("kept 3 cached packages").
    virtual void note(std::string_view line) = 0;
};

// Says nothing (tests, --quiet).
class NoProgress final : public Progress {
  public:
    void step(std::string_view) override {}
    void advance(uint64_t, uint64_t) override {}
    void note(std::string_view) override {}
};

}  // namespace keel::image
