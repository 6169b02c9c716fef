// The applets a busybox binary has, read from the binary itself (its sorted,
// NUL-separated applet_names table) rather than by running it: the image's
// busybox may be of another architecture than the build host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel::image {

// The applet names in order, or empty when the bytes hold no such table (not a
// busybox, or one built without the test applets whose names "[" and "[[" open it).
std::vector<std::string> busybox_applets(std::string_view binary);

}  // namespace keel::image
