#include "image/apt.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/digest.h"

namespace keel::image {
namespace {

// The host's apt sources: one-line format and deb822 kept apart, as apt reads
// them from sources.list(.d)/*.list and *.sources.
struct Sources {
    std::string list, deb822;
};

Result<Sources> host_sources() {
    Sources s;
    if (auto main = sys::read_file("/etc/apt/sources.list")) s.list = *main;
    std::vector<std::string> names;
    auto dir = sys::open("/etc/apt/sources.list.d", O_RDONLY | O_DIRECTORY);
    if (dir) {
        KEEL_TRY_STATUS(sys::for_each_entry(dir->get(), [&](std::string_view name, unsigned char) {
            if (name.ends_with(".list") || name.ends_with(".sources")) names.emplace_back(name);
        }));
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string text = KEEL_TRY(sys::read_file("/etc/apt/sources.list.d/" + n));
        (n.ends_with(".list") ? s.list : s.deb822) += text + "\n";
    }
    if (s.list.find_first_not_of(" \t\n") == std::string::npos &&
        s.deb822.find_first_not_of(" \t\n") == std::string::npos)
        return Error(
            "the host has no apt sources in /etc/apt/sources.list(.d); give the sources to use");
    return s;
}

Sources given_sources(const std::string& text) {
    Sources s;
    bool deb822 = text.starts_with("Types:") || text.find("\nTypes:") != std::string::npos;
    (deb822 ? s.deb822 : s.list) = text;
    return s;
}

std::string quote(const std::string& s) {
    return "\"" + s + "\"";
}

}  // namespace

Result<Apt> Apt::open(const PackageSource& source) {
    if (source.cache_dir.empty() || source.cache_dir[0] != '/')
        return Error("the package cache dir must be an absolute path, not \"" + source.cache_dir +
                     "\"");
    Sources src =
        source.sources_list.empty() ? KEEL_TRY(host_sources()) : given_sources(source.sources_list);
    // One apt state per (arch, sources): switching sources never mixes their lists.
    std::string key =
        sha256_hex(source.arch + "\n" + src.list + "\n--\n" + src.deb822).substr(0, 12);
    Apt apt;
    apt.dir_ = source.cache_dir + "/apt/" + source.arch + "-" + key;
    apt.debs_ = source.cache_dir + "/debs";
    apt.config_ = apt.dir_ + "/etc/apt.conf";
    for (const char* d : {"/etc/apt.conf.d", "/etc/preferences.d", "/etc/sources.list.d",
                          "/state/lists/partial", "/cache/archives/partial"})
        KEEL_TRY_STATUS(sys::make_dirs(apt.dir_ + d, 0755));
    KEEL_TRY_STATUS(sys::make_dirs(apt.debs_, 0755));
    const std::string& d = apt.dir_;
    std::string conf =
        "// Written by keel: apt for an image, not for this host.\n"
        "Dir::Etc " +
        quote(d + "/etc/") +
        ";\n"
        "Dir::Etc::SourceList \"sources.list\";\n"
        "Dir::Etc::SourceParts \"sources.list.d\";\n"
        "Dir::Etc::Parts \"apt.conf.d\";\n"
        "Dir::Etc::PreferencesParts \"preferences.d\";\n"
        // Archive keys stay the host's: the sources name their keyrings or use these.
        "Dir::Etc::TrustedParts \"/etc/apt/trusted.gpg.d/\";\n"
        "Dir::Etc::Trusted \"/etc/apt/trusted.gpg\";\n"
        "Dir::State " +
        quote(d + "/state/") +
        ";\n"
        "Dir::State::status " +
        quote(d + "/state/status") +
        ";\n"
        "Dir::Cache " +
        quote(d + "/cache/") +
        ";\n"
        "Dir::Log " +
        quote(d + "/state/") +
        ";\n"
        "APT::Architecture " +
        quote(source.arch) +
        ";\n"
        "APT::Architectures { " +
        quote(source.arch) +
        "; };\n"
        "APT::Install-Recommends \"false\";\n"
        "APT::Install-Suggests \"false\";\n"
        "Acquire::Languages \"none\";\n"
        "Binary::apt-get::Acquire::AllowInsecureRepositories \"false\";\n";
    // As root apt would drop to _apt for downloads, which cannot write our cache.
    if (::geteuid() == 0) conf += "APT::Sandbox::User \"root\";\n";
    KEEL_TRY_STATUS(sys::write_file_atomic(apt.config_, conf));
    KEEL_TRY_STATUS(sys::write_file_atomic(d + "/etc/sources.list", src.list));
    KEEL_TRY_STATUS(sys::write_file_atomic(d + "/etc/sources.list.d/image.sources", src.deb822));
    if (!sys::stat_path(d + "/state/status").ok())
        KEEL_TRY_STATUS(sys::write_file_atomic(d + "/state/status", ""));
    return apt;
}

Result<std::string> Apt::run(std::vector<std::string> args, const std::string& cwd,
                             const std::function<void(std::string_view)>& on_line) const {
    Command cmd;
    cmd.argv = std::move(args);
    cmd.env = {"APT_CONFIG=" + config_, "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"};
    cmd.cwd = cwd;
    return run_command(cmd, on_line);
}

Result<Fd> Apt::lock() const {
    Fd fd = KEEL_TRY(sys::open(dir_ + "/keel.lock", O_RDWR | O_CREAT, 0644));
    while (::flock(fd.get(), LOCK_EX) < 0)
        if (errno != EINTR) return errno_error("cannot lock " + dir_ + "/keel.lock");
    return fd;
}

Status Apt::update_if_stale(Progress& progress, long max_age_s) {
    Fd held = KEEL_TRY(lock());  // concurrent builds: one updates, the others then see fresh lists
    std::string stamp = dir_ + "/state/updated";
    auto st = sys::stat_path(stamp);
    long age = st ? static_cast<long>(std::time(nullptr) - st->st_mtime) : -1;
    bool have_lists = false;  // the stamp alone does not prove the lists are still there
    if (auto lists = sys::open(dir_ + "/state/lists", O_RDONLY | O_DIRECTORY))
        (void)sys::for_each_entry(lists->get(), [&](std::string_view name, unsigned char) {
            if (name.find("_Packages") != std::string_view::npos) have_lists = true;
        });
    if (!have_lists) age = -1;
    if (age >= 0 && age < max_age_s) return {};
    progress.step(age < 0 ? "fetching apt package lists"
                          : "refreshing apt package lists (over a day old)");
    size_t got = 0;
    KEEL_TRY(run({"apt-get", "update"}, "", [&](std::string_view line) {
        if (line.starts_with("Get:")) progress.advance(++got, 0);
    }));
    progress.note("apt package lists updated into " + dir_ + "/state/lists");
    return sys::write_file_atomic(stamp, std::to_string(std::time(nullptr)) + "\n");
}

std::vector<std::map<std::string, std::string>> parse_stanzas(std::string_view text) {
    std::vector<std::map<std::string, std::string>> out;
    std::map<std::string, std::string> cur;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a multi-line field
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\r'))
            value.remove_suffix(1);
        cur[std::string(line.substr(0, colon))] = std::string(value);
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string deb_file_name(const LockedPackage& p) {
    std::string version;
    for (char c : p.version)
        version += c == ':' ? std::string("%3a") : std::string(1, c);
    return p.name + "_" + version + "_" + p.arch + ".deb";
}

}  // namespace keel::image
