#include "image/packages.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/apt.h"
#include "image/digest.h"

namespace keel::image {
namespace {

// Debian policy 5.6.1: lowercase letters, digits, '+', '-', '.'; at least two
// characters, starting alphanumeric. Anything else never reaches apt's argv.
bool valid_package_name(const std::string& n) {
    if (n.size() < 2 || !(std::islower(static_cast<unsigned char>(n[0])) ||
                          std::isdigit(static_cast<unsigned char>(n[0]))))
        return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : sep) + x;
    return s;
}

// "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])" -> {libc6, 2.36-9+deb12u14}.
std::vector<std::pair<std::string, std::string>> parse_simulation(std::string_view out) {
    std::vector<std::pair<std::string, std::string>> inst;
    size_t pos = 0;
    while (pos < out.size()) {
        size_t end = out.find('\n', pos);
        if (end == std::string_view::npos) end = out.size();
        std::string_view line = out.substr(pos, end - pos);
        pos = end + 1;
        if (!line.starts_with("Inst ")) continue;
        line.remove_prefix(5);
        size_t sp = line.find(' ');
        size_t paren = line.find('(');
        if (sp == std::string_view::npos || paren == std::string_view::npos) continue;
        std::string_view rest = line.substr(paren + 1);
        size_t vend = rest.find(' ');
        if (vend == std::string_view::npos) continue;
        inst.emplace_back(std::string(line.substr(0, sp)), std::string(rest.substr(0, vend)));
    }
    return inst;
}

Result<LockedPackage> locked_from(const std::map<std::string, std::string>& st) {
    auto get = [&](const char* k) -> std::string {
        auto it = st.find(k);
        return it == st.end() ? "" : it->second;
    };
    LockedPackage p{get("Package"), get("Version"), get("Architecture"), get("SHA256"), 0,
                    get("Filename")};
    std::string size = get("Size");
    if (p.name.empty() || p.version.empty() || p.arch.empty() || p.sha256.size() != 64 ||
        p.filename.empty() || size.empty() ||
        size.find_first_not_of("0123456789") != std::string::npos)
        return Error("apt's record of " + p.name + " " + p.version +
                     " lacks Architecture, SHA256, Size or Filename");
    p.size = std::stoull(size);
    return p;
}

// A dpkg status file listing the excluded packages as installed (their candidate
// version, so any versioned dependency on them holds), with no dependencies of
// their own: apt then neither installs them nor what only they need, as if the
// image already had them (mmdebstrap's --exclude for dependencies).
std::string excluded_status(
    const std::vector<std::string>& exclude,
    const std::map<std::string, std::map<std::string, std::string>>& records) {
    std::vector<std::string> sorted = exclude;
    std::sort(sorted.begin(), sorted.end());
    std::string out;
    for (const auto& name : sorted) {
        const auto& r = records.at(name);
        auto field = [&](const char* key) {
            auto it = r.find(key);
            if (it != r.end() && !it->second.empty())
                out += std::string(key) + ": " + it->second + "\n";
        };
        out += "Package: " + name + "\nStatus: install ok installed\n";
        field("Version");
        field("Architecture");
        field("Multi-Arch");
        field("Provides");
        out += "Maintainer: keel build <keel@localhost>\nDescription: excluded from the image\n\n";
    }
    return out;
}

}  // namespace

std::string default_cache_dir() {
    if (const char* c = std::getenv("KEEL_CACHE"); c && *c) return c;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/keel";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/keel";
    return "/var/cache/keel";
}

Result<Lock> resolve_packages(const std::vector<std::string>& names, const PackageSource& source,
                              Progress& progress, const std::vector<std::string>& exclude) {
    std::vector<std::string> bad, both;
    for (const auto& n : names)
        if (!valid_package_name(n)) bad.push_back("\"" + n + "\"");
    for (const auto& n : exclude) {
        if (!valid_package_name(n)) bad.push_back("\"" + n + "\"");
        if (std::find(names.begin(), names.end(), n) != names.end()) both.push_back(n);
    }
    if (!bad.empty()) return Error("not Debian package names: " + join(bad));
    if (!both.empty()) return Error("packages both wanted and excluded: " + join(both));
    if (names.empty()) return Lock{};
    Apt apt = KEEL_TRY(Apt::open(source));
    KEEL_TRY_STATUS(apt.update_if_stale(progress));
    progress.step("resolving " + std::to_string(names.size()) + " packages");

    // apt-get stops at the first unknown name; ask for all of them first so the
    // error names every one (virtual packages have no record either).
    std::vector<std::string> args = {"apt-cache", "show", "--no-all-versions"};
    args.insert(args.end(), names.begin(), names.end());
    args.insert(args.end(), exclude.begin(), exclude.end());
    std::map<std::string, std::map<std::string, std::string>> candidates;
    for (auto& st : parse_stanzas(KEEL_TRY(apt.run(args))))
        if (auto it = st.find("Package"); it != st.end())
            candidates.emplace(it->second, std::move(st));
    std::vector<std::string> unknown;
    for (const auto* list : {&names, &exclude})
        for (const auto& n : *list)
            if (!candidates.count(n) &&
                std::find(unknown.begin(), unknown.end(), n) == unknown.end())
                unknown.push_back(n);
    if (!unknown.empty())
        return Error("unknown Debian package" + std::string(unknown.size() > 1 ? "s" : "") + ": " +
                     join(unknown) + " (not in the " + source.arch +
                     " package lists; virtual packages must be named by a real one)");

    // The solver's answer with nothing installed but the excluded packages: every
    // package of the closure.
    args = {"apt-get", "--simulate", "--quiet", "--no-install-recommends", "install"};
    if (!exclude.empty()) {
        std::string status = excluded_status(exclude, candidates);
        std::string path = apt.dir() + "/state/status-" + sha256_hex(status).substr(0, 12);
        if (!sys::stat_path(path).ok()) KEEL_TRY_STATUS(sys::write_file_atomic(path, status));
        args.insert(args.begin() + 1, {"-o", "Dir::State::status=" + path});
    }
    args.insert(args.end(), names.begin(), names.end());
    auto inst = parse_simulation(KEEL_TRY(apt.run(args)));
    if (inst.empty()) return Error("apt resolved nothing for " + join(names));

    args = {"apt-cache", "show"};
    for (const auto& [name, version] : inst)
        args.push_back(name + "=" + version);
    std::map<std::string, LockedPackage> records;
    for (const auto& st : parse_stanzas(KEEL_TRY(apt.run(args)))) {
        LockedPackage p = KEEL_TRY(locked_from(st));
        records.emplace(p.name + "=" + p.version, std::move(p));  // first record of a version wins
    }
    Lock lock;
    for (const auto& [name, version] : inst) {
        if (std::find(exclude.begin(), exclude.end(), name) != exclude.end())
            return Error("apt would install the excluded package " + name + " " + version);
        auto it = records.find(name + "=" + version);
        if (it == records.end()) return Error("apt has no record of " + name + " " + version);
        lock.push_back(it->second);
    }
    std::sort(lock.begin(), lock.end(),
              [](const LockedPackage& a, const LockedPackage& b) { return a.name < b.name; });
    progress.note("resolved " + join(names, " ") + " to " + std::to_string(lock.size()) +
                  " packages" + (exclude.empty() ? "" : " (excluding " + join(exclude, " ") + ")"));
    return lock;
}

Result<std::vector<std::string>> fetch_packages(const Lock& lock, const PackageSource& source,
                                                Progress& progress) {
    if (source.cache_dir.empty()) return Error("no package cache dir given");
    std::string debs = source.cache_dir + "/debs";
    KEEL_TRY_STATUS(sys::make_dirs_durable(debs, 0755));
    std::vector<std::string> paths;
    std::vector<const LockedPackage*> missing;
    uint64_t missing_bytes = 0;
    for (const auto& p : lock) {
        std::string path = debs + "/" + deb_file_name(p);
        paths.push_back(path);
        if (sys::stat_path(path).ok()) {
            auto sum = sha256_file(path);
            if (sum.ok() && *sum == p.sha256) continue;
            KEEL_TRY_STATUS(sys::unlink_if_exists(path));  // a partial or stale download
        }
        missing.push_back(&p);
        missing_bytes += p.size;
    }
    if (missing.size() < lock.size())
        progress.note("kept " + std::to_string(lock.size() - missing.size()) + " cached packages");
    if (!missing.empty()) {
        Apt apt = KEEL_TRY(Apt::open(source));
        KEEL_TRY_STATUS(apt.update_if_stale(progress));
        Fd held = KEEL_TRY(apt.lock());
        progress.step("downloading " + std::to_string(missing.size()) + " packages");
        std::vector<std::string> args = {"apt-get", "download"};
        std::map<std::string, uint64_t> size_of;
        for (const auto* p : missing) {
            args.push_back(p->name + "=" + p->version);
            size_of[p->name] = p->size;
        }
        // "Get:3 http://... bookworm/main amd64 zlib1g amd64 1:1.2.13.dfsg-1 [86.7 kB]":
        // a new download begins, so the one before it is done.
        uint64_t done = 0, pending = 0;
        KEEL_TRY(apt.run(args, debs, [&](std::string_view line) {
            if (!line.starts_with("Get:")) return;
            done += pending;
            pending = 0;
            for (const auto& [name, size] : size_of)
                if (line.find(" " + name + " ") != std::string_view::npos) pending = size;
            progress.advance(done, missing_bytes);
        }));
        progress.advance(missing_bytes, missing_bytes);
    }
    for (size_t i = 0; i < lock.size(); ++i) {
        const auto& p = lock[i];
        auto sum = sha256_file(paths[i]);
        if (!sum)
            return Error("package " + p.name + " " + p.version +
                         " was not downloaded: " + sum.error().message());
        if (*sum != p.sha256) {
            (void)sys::unlink_if_exists(paths[i]);
            return Error("package " + p.name + " " + p.version + ": sha256 " + *sum +
                         " does not match the lock's " + p.sha256);
        }
    }
    return paths;
}

}  // namespace keel::image
