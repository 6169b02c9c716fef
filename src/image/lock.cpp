// system.lock: {"exclude": [names...], "packages": [{name, version, arch, sha256, size,
// filename}...], "version": 1}; "exclude" only when the definition excludes packages.
// Keys sorted, two-space indent, packages sorted by name: the same lock always
// has the same bytes, so it diffs well under version control.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "base/durable.h"
#include "base/sys.h"
#include "image/packages.h"

namespace keel::image {
namespace {

constexpr int kLockVersion = 1;

bool is_hex64(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

Result<std::string> string_field(const nlohmann::json& obj, const char* key,
                                 const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end()) return Error(where + ": missing \"" + key + "\"");
    if (!it->is_string() || it->get<std::string>().empty())
        return Error(where + "." + key + ": expected a non-empty string");
    return it->get<std::string>();
}

Result<LockedPackage> parse_package(const nlohmann::json& p, const std::string& where) {
    if (!p.is_object()) return Error(where + ": expected an object");
    static const std::set<std::string> kKeys = {"name",   "version", "arch",
                                                "sha256", "size",    "filename"};
    for (auto it = p.begin(); it != p.end(); ++it)
        if (!kKeys.count(it.key())) return Error(where + ": unknown key \"" + it.key() + "\"");
    LockedPackage pkg;
    pkg.name = KEEL_TRY(string_field(p, "name", where));
    pkg.version = KEEL_TRY(string_field(p, "version", where));
    pkg.arch = KEEL_TRY(string_field(p, "arch", where));
    pkg.sha256 = KEEL_TRY(string_field(p, "sha256", where));
    pkg.filename = KEEL_TRY(string_field(p, "filename", where));
    if (!is_hex64(pkg.sha256)) return Error(where + ".sha256: expected 64 lowercase hex digits");
    auto size = p.find("size");
    if (size == p.end()) return Error(where + ": missing \"size\"");
    if (!size->is_number_unsigned()) return Error(where + ".size: expected a byte count");
    pkg.size = size->get<uint64_t>();
    return pkg;
}

}  // namespace

Result<LockFile> read_lock(const std::string& path) {
    std::string text = KEEL_TRY(sys::read_file(path));
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return Error(path + ": not valid JSON");
    if (!doc.is_object()) return Error(path + ": expected a JSON object");
    for (auto it = doc.begin(); it != doc.end(); ++it)
        if (it.key() != "version" && it.key() != "packages" && it.key() != "exclude")
            return Error(path + ": unknown key \"" + it.key() + "\"");
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer() ||
        version->get<int>() != kLockVersion)
        return Error(path + ": \"version\" must be " + std::to_string(kLockVersion));
    auto packages = doc.find("packages");
    if (packages == doc.end() || !packages->is_array())
        return Error(path + ": \"packages\" must be an array");
    LockFile lock;
    std::set<std::string> seen;
    for (size_t i = 0; i < packages->size(); ++i) {
        std::string where = path + ": packages[" + std::to_string(i) + "]";
        LockedPackage pkg = KEEL_TRY(parse_package((*packages)[i], where));
        if (!seen.insert(pkg.name).second)
            return Error(where + ": " + pkg.name + " is listed twice");
        lock.packages.push_back(std::move(pkg));
    }
    std::sort(lock.packages.begin(), lock.packages.end(),
              [](const LockedPackage& a, const LockedPackage& b) { return a.name < b.name; });
    if (auto exclude = doc.find("exclude"); exclude != doc.end()) {
        if (!exclude->is_array())
            return Error(path + ": \"exclude\" must be an array of package names");
        std::set<std::string> names;
        for (size_t i = 0; i < exclude->size(); ++i) {
            const auto& e = (*exclude)[i];
            std::string where = path + ": exclude[" + std::to_string(i) + "]";
            if (!e.is_string() || e.get<std::string>().empty())
                return Error(where + ": expected a package name");
            if (seen.count(e.get<std::string>()))
                return Error(where + ": " + e.get<std::string>() +
                             " is excluded but pinned in packages");
            if (!names.insert(e.get<std::string>()).second)
                return Error(where + ": " + e.get<std::string>() + " is listed twice");
        }
        lock.exclude.assign(names.begin(), names.end());
    }
    return lock;
}

Status write_lock(const std::string& path, const LockFile& lock) {
    Lock sorted = lock.packages;
    std::sort(sorted.begin(), sorted.end(),
              [](const LockedPackage& a, const LockedPackage& b) { return a.name < b.name; });
    nlohmann::json packages = nlohmann::json::array();
    for (const auto& p : sorted)
        packages.push_back({{"name", p.name},
                            {"version", p.version},
                            {"arch", p.arch},
                            {"sha256", p.sha256},
                            {"size", p.size},
                            {"filename", p.filename}});
    nlohmann::json doc = {{"version", kLockVersion}, {"packages", std::move(packages)}};
    if (!lock.exclude.empty()) {
        std::vector<std::string> exclude = lock.exclude;
        std::sort(exclude.begin(), exclude.end());
        doc["exclude"] = exclude;
    }
    return sys::write_file_atomic(path, doc.dump(2) + "\n");
}

}  // namespace keel::image
