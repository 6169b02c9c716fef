// apt run for an image, not for this host: an empty dpkg status (nothing is
// installed), and its own configuration, lists and cache below the package
// cache dir, as mmdebstrap does. Internal to packages.cpp and its tests.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "image/command.h"
#include "image/packages.h"
#include "image/progress.h"

namespace keel::image {

class Apt {
  public:
    // Creates the directories and apt.conf; the lists are not fetched yet.
    static Result<Apt> open(const PackageSource& source);

    // `apt-get update` when the lists are missing, older than `max_age_s` or
    // were fetched from other sources.
    Status update_if_stale(Progress& progress, long max_age_s = 24 * 3600);
    // Runs an apt tool (apt-get, apt-cache) with this configuration.
    Result<std::string> run(std::vector<std::string> args, const std::string& cwd = "",
                            const std::function<void(std::string_view)>& on_line = {}) const;

    // An exclusive lock on this apt state, held while the Fd lives (apt's own
    // lock would make a concurrent build fail instead of wait).
    Result<Fd> lock() const;

    const std::string& dir() const { return dir_; }
    const std::string& debs_dir() const { return debs_; }

  private:
    std::string dir_;   // CACHE/apt/ARCH-HASH: etc/, state/, cache/
    std::string debs_;  // CACHE/debs: downloaded packages, shared by every source
    std::string config_;
};

// The stanzas of a deb822 text (apt-cache show, Packages): single-line fields only.
std::vector<std::map<std::string, std::string>> parse_stanzas(std::string_view text);

// The .deb file name apt gives a package: NAME_VERSION_ARCH.deb, ':' as "%3a".
std::string deb_file_name(const LockedPackage& p);

}  // namespace keel::image
