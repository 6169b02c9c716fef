// write_directory: the Tree as a real directory tree, for `keel run`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <memory>
#include <string>
#include <vector>

#include "base/sys.h"
#include "image/writers.h"

namespace keel::image {
namespace {

Status check_empty_dir(const std::string& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
        if (errno != ENOENT) return errno_error("cannot open " + dir);
        return sys::make_dirs(dir, 0755);
    }
    while (dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name != "." && name != "..")
            return Error("refusing to write the image into " + dir + ": it is not empty (holds " +
                         name + ")");
    }
    return {};
}

Status copy_file(const Node& n, const std::string& to) {
    auto out = KEEL_TRY(sys::open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (n.source.empty()) {
        for (size_t off = 0; off < n.data.size();)
            off += KEEL_TRY(sys::write(out.get(), n.data.data() + off, n.data.size() - off));
        return {};
    }
    auto in = KEEL_TRY(sys::open(n.source, O_RDONLY | O_CLOEXEC));
    for (uint64_t left = n.size; left > 0;) {
        // copy_file_range shares extents on reflink-capable file systems.
        ssize_t k = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
        if (k < 0) return errno_error("cannot copy " + n.source + " to " + to);
        if (k == 0) return Error(n.source + " shrank while being copied to " + to);
        left -= static_cast<uint64_t>(k);
    }
    return {};
}

// Owner first, then mode: chown(2) clears setuid/setgid bits.
Status apply_owner_and_mode(const std::string& path, const Node& n, bool as_root) {
    if (as_root && ::lchown(path.c_str(), n.uid, n.gid) != 0)
        return errno_error("cannot chown " + path);
    if (n.kind != Node::Kind::symlink && ::chmod(path.c_str(), n.mode) != 0)
        return errno_error("cannot chmod " + path);
    return {};
}

}  // namespace

Status write_directory(const Tree& tree, const std::string& dir, Progress& progress) {
    progress.step("writing root directory " + dir);
    KEEL_TRY_STATUS(check_empty_dir(dir));
    const bool as_root = ::geteuid() == 0;
    std::vector<std::pair<std::string, const Node*>> dirs;
    uint64_t total = 0, done = 0;
    for (const auto& [p, n] : tree.nodes())
        total += n.kind == Node::Kind::file ? n.size : 0;
    for (const auto& [p, n] : tree.nodes()) {
        std::string to = p == "/" ? dir : dir + p;
        switch (n.kind) {
            case Node::Kind::dir:
                if (p != "/" && ::mkdir(to.c_str(), 0700) != 0)
                    return errno_error("cannot create " + to);
                // Modes last (a 0555 directory could not be filled otherwise).
                dirs.emplace_back(to, &n);
                break;
            case Node::Kind::symlink:
                if (::symlink(n.target.c_str(), to.c_str()) != 0)
                    return errno_error("cannot create symlink " + to);
                KEEL_TRY_STATUS(apply_owner_and_mode(to, n, as_root));
                break;
            case Node::Kind::file:
                KEEL_TRY_STATUS(copy_file(n, to));
                KEEL_TRY_STATUS(apply_owner_and_mode(to, n, as_root));
                done += n.size;
                progress.advance(done, total);
                break;
        }
    }
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
        KEEL_TRY_STATUS(apply_owner_and_mode(it->first, *it->second, as_root));
    return {};
}

}  // namespace keel::image
