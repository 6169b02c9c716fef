#include "image/build.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/digest.h"
#include "image/elf_closure.h"
#include "image/kernel.h"
#include "image/packages.h"
#include "image/rootfs_base.h"

namespace keel::image {
namespace {

using json = nlohmann::json;

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// The lock beside the definition: reused when it pins every package the
// definition names, resolved (and rewritten) when asked to or when it does not.
Result<Lock> locked_packages(const Plan& plan, const std::string& lock_path,
                             const PackageSource& source, bool update, Progress& progress) {
    if (!update && exists(lock_path)) {
        Lock lock = KEEL_TRY(read_lock(lock_path));
        std::vector<std::string> missing;
        for (const auto& name : plan.packages)
            if (std::none_of(lock.begin(), lock.end(), [&](auto& p) { return p.name == name; }))
                missing.push_back(name);
        if (missing.empty()) return lock;
        std::string list;
        for (const auto& m : missing)
            list += (list.empty() ? "" : ", ") + m;
        progress.note(lock_path + " does not pin " + list + ": resolving again");
    }
    Lock lock = KEEL_TRY(resolve_packages(plan.packages, source, progress));
    KEEL_TRY_STATUS(write_lock(lock_path, lock));
    progress.note("wrote " + lock_path + " (" + std::to_string(lock.size()) + " packages)");
    return lock;
}

// The definition's own files go over everything else; a directory it lists
// that already exists (perhaps as /bin -> usr/bin) only takes its mode.
Status put_plan_files(Tree& tree, const Tree& files) {
    for (const auto& [path, node] : files.nodes()) {
        if (path == "/") continue;
        if (node.kind == Node::Kind::dir) {
            // A parent made only to hold a file keeps the image's mode (/root stays 0700).
            const Node* at = tree.lookup(path);
            if (at && at->kind == Node::Kind::dir && node.implicit) continue;
        }
        KEEL_TRY(tree.put(path, node));
    }
    return {};
}

Result<Tree> assemble(const Plan& plan, const std::vector<std::string>& debs, const Lock& lock,
                      const Kernel& kernel, Progress& progress) {
    Tree tree;
    KEEL_TRY_STATUS(put_base_skeleton(tree));
    progress.step("unpacking " + std::to_string(debs.size()) + " packages");
    for (size_t i = 0; i < debs.size(); ++i) {
        KEEL_TRY_STATUS(extract_deb(debs[i], tree, "pkg:" + lock[i].name));
        progress.advance(i + 1, debs.size());
    }
    progress.step("copying " + std::to_string(plan.host_files.size()) +
                  " host files and their libraries");
    for (const auto& f : plan.host_files)
        KEEL_TRY_STATUS(add_with_closure(tree, f));
    std::vector<std::string> modules = platform_modules();
    modules.insert(modules.end(), plan.kernel_modules.begin(), plan.kernel_modules.end());
    progress.step("adding kernel " + kernel.release + " modules");
    KEEL_TRY_STATUS(add_kernel_modules(tree, kernel, modules));
    KEEL_TRY_STATUS(put_plan_files(tree, plan.files));
    KEEL_TRY(
        tree.put_file("/etc/keel/system.json", plan.manifest.dump(2) + "\n", 0644, "definition"));
    KEEL_TRY_STATUS(put_finishing_links(tree));
    return tree;
}

// What the outputs are a function of: every node (file content by digest or,
// for host and cached files, by path, size and mtime) and the output options.
Result<std::string> tree_digest(const Tree& tree, const BuildOptions& options,
                                const Kernel& kernel) {
    Sha256 h;
    auto field = [&](std::string_view s) {
        h.update(s);
        h.update(std::string_view("\0", 1));
    };
    field(KEEL_VERSION);
    field(std::to_string(static_cast<int>(options.compression)));
    field(options.rootfs ? "rootfs" : "");
    field(kernel.image);
    for (const auto& [path, n] : tree.nodes()) {
        field(path);
        field(std::to_string(static_cast<int>(n.kind)) + ":" + std::to_string(n.mode) + ":" +
              std::to_string(n.uid) + ":" + std::to_string(n.gid));
        field(n.target);
        if (n.kind != Node::Kind::file) continue;
        if (n.source.empty()) {
            field(sha256_hex(n.data));
            continue;
        }
        struct stat st {};
        if (::stat(n.source.c_str(), &st) != 0) return errno_error("cannot stat " + n.source);
        field(n.source + ":" + std::to_string(st.st_size) + ":" +
              std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    }
    struct stat st {};
    if (::stat(kernel.image.c_str(), &st) != 0) return errno_error("cannot stat " + kernel.image);
    field(std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec));
    return h.hex();
}

Status copy_file(const std::string& from, const std::string& to) {
    std::string bytes = KEEL_TRY(sys::read_file(from));
    return sys::write_file_atomic(to, bytes, 0644);
}

}  // namespace

Result<BuildResult> build_system(const BuildOptions& options, Progress& progress) {
    BuildResult result;
    progress.step("evaluating " + options.definition);
    Plan plan = KEEL_TRY(evaluate_definition(options.definition, options.definition_options));

    PackageSource source;
    source.cache_dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
    KEEL_TRY_STATUS(sys::make_dirs(source.cache_dir, 0755));
    result.lock = dir_of(options.definition) + "/system.lock";
    Lock lock = KEEL_TRY(locked_packages(plan, result.lock, source, options.update_lock, progress));
    std::vector<std::string> debs = KEEL_TRY(fetch_packages(lock, source, progress));
    Kernel kernel = KEEL_TRY(find_kernel());
    Tree tree = KEEL_TRY(assemble(plan, debs, lock, kernel, progress));

    KEEL_TRY_STATUS(sys::make_dirs(options.out_dir, 0755));
    result.initramfs = options.out_dir + "/initramfs.img";
    result.kernel = options.out_dir + "/vmlinuz";
    result.rootfs = options.rootfs ? options.out_dir + "/rootfs" : "";
    result.digest = KEEL_TRY(tree_digest(tree, options, kernel));
    result.size = size_report(tree);

    const std::string stamp = options.out_dir + "/build.json";
    if (auto old = sys::read_file(stamp)) {
        json j = json::parse(*old, nullptr, false);
        if (j.is_object() && j.value("digest", "") == result.digest && exists(result.initramfs) &&
            exists(result.kernel) && (!options.rootfs || exists(result.rootfs))) {
            result.up_to_date = true;
            struct stat st {};
            if (::stat(result.initramfs.c_str(), &st) == 0)
                result.size.compressed_bytes = static_cast<uint64_t>(st.st_size);
            return result;
        }
    }
    (void)sys::unlink_if_exists(stamp);  // a build cut short leaves no stamp behind

    progress.step("writing " + result.initramfs);
    KEEL_TRY_STATUS(write_cpio(tree, result.initramfs, options.compression, progress));
    struct stat st {};
    if (::stat(result.initramfs.c_str(), &st) == 0)
        result.size.compressed_bytes = static_cast<uint64_t>(st.st_size);
    KEEL_TRY_STATUS(copy_file(kernel.image, result.kernel));
    KEEL_TRY_STATUS(sys::write_file_atomic(options.out_dir + "/system.json",
                                           plan.manifest.dump(2) + "\n", 0644));
    if (options.rootfs) {
        progress.step("writing " + result.rootfs);
        KEEL_TRY_STATUS(sys::remove_tree(result.rootfs));
        KEEL_TRY_STATUS(write_directory(tree, result.rootfs, progress));
    }
    KEEL_TRY_STATUS(sys::write_file_atomic(options.out_dir + "/size.txt",
                                           format_size_report(result.size), 0644));
    json j = {{"digest", result.digest},
              {"definition", options.definition},
              {"lock", result.lock},
              {"kernel_release", kernel.release}};
    KEEL_TRY_STATUS(sys::write_file_atomic(stamp, j.dump(2) + "\n", 0644));
    return result;
}

}  // namespace keel::image
