#include "image/build.h"

#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/digest.h"
#include "image/elf_closure.h"
#include "image/kernel.h"
#include "image/packages.h"
#include "image/prune.h"
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
// definition names with the same exclusions, resolved (and rewritten) when asked
// to or when it does not.
Result<Lock> locked_packages(const Plan& plan, const std::string& lock_path,
                             const PackageSource& source, bool update, Progress& progress) {
    std::vector<std::string> exclude = plan.exclude;
    std::sort(exclude.begin(), exclude.end());
    if (!update && exists(lock_path)) {
        LockFile lock = KEEL_TRY(read_lock(lock_path));
        std::string missing;
        for (const auto& name : plan.packages)
            if (std::none_of(lock.packages.begin(), lock.packages.end(),
                             [&](auto& p) { return p.name == name; }))
                missing += (missing.empty() ? "" : ", ") + name;
        if (missing.empty() && lock.exclude == exclude) return lock.packages;
        progress.note(
            lock_path +
            (missing.empty() ? " was resolved with other exclusions" : " does not pin " + missing) +
            ": resolving again");
    }
    LockFile lock{KEEL_TRY(resolve_packages(plan.packages, source, progress, exclude)), exclude};
    KEEL_TRY_STATUS(write_lock(lock_path, lock));
    progress.note("wrote " + lock_path + " (" + std::to_string(lock.packages.size()) +
                  " packages)");
    return lock.packages;
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
                      const Kernel& kernel, Progress& progress, std::vector<SizeLine>& pruned) {
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
    // keel dev decompresses .ko.xz/.ko.zst itself only when the kernel cannot: then the
    // libraries it dlopen()s come from the host.
    auto config = sys::read_file("/boot/config-" + kernel.release);
    for (const char* lib : module_decompressors(tree, config ? *config : "")) {
        std::string path = KEEL_TRY(find_host_library(lib, EM_X86_64));
        KEEL_TRY_STATUS(add_with_closure(tree, {path, path, 0}));
    }
    KEEL_TRY_STATUS(put_plan_files(tree, plan.files));
    KEEL_TRY(
        tree.put_file("/etc/keel/system.json", plan.manifest.dump(2) + "\n", 0644, "definition"));
    KEEL_TRY(put_finishing_links(tree, plan.busybox_links));
    progress.step("pruning");
    PruneResult p = KEEL_TRY(prune_tree(tree, plan.prune));
    for (const auto& w : p.warnings)
        progress.note("warning: " + w);
    uint64_t files = 0, bytes = 0;
    for (const auto& l : p.lines) {
        files += l.files;
        bytes += l.bytes;
    }
    if (files)
        progress.note("pruned " + std::to_string(files) + " files, " +
                      std::to_string(bytes / 1024) +
                      " KiB (size.txt lists them; the definition's `prune` keeps what it needs)");
    pruned = std::move(p.lines);
    return tree;
}

// The kernel's modules as an archive of their own (with the directories above
// them): the initramfs is the system's archive followed by the modules', so the
// report can say what each costs compressed.
Tree take_modules(Tree& tree) {
    Tree modules;
    const std::string dir = "/usr/lib/modules";
    if (!tree.lookup(dir, false)) return modules;
    for (const char* above : {"/usr", "/usr/lib"})
        if (const Node* d = tree.lookup(above, false)) (void)modules.put(above, *d);
    for (auto it = tree.nodes().lower_bound(dir); it != tree.nodes().end(); ++it) {
        if (it->first != dir && !it->first.starts_with(dir + "/")) break;
        (void)modules.put(it->first, it->second);
    }
    (void)tree.remove(dir);
    return modules;
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
    field(
        "initramfs: the system's archive, then the modules'");  // the layout write_cpio_parts gives
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

// The kernel modules' archive at the end of the previous initramfs, when the
// previous build recorded the same digest for it: a changed definition then
// compresses only the system's archive again.
std::optional<std::string> previous_part(const json& stamp, const std::string& initramfs,
                                         const std::string& digest) {
    if (!stamp.is_object() || stamp.value("modules_digest", "") != digest) return std::nullopt;
    uint64_t size = stamp.value(json::json_pointer("/sizes/modules"), uint64_t{0});
    auto bytes = sys::read_file(initramfs);
    if (!bytes || size == 0 || size > bytes->size() ||
        bytes->size() != stamp.value(json::json_pointer("/sizes/initramfs"), uint64_t{0}))
        return std::nullopt;
    return bytes->substr(bytes->size() - size);
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
    KEEL_TRY_STATUS(sys::make_dirs_durable(source.cache_dir, 0755));
    result.lock = dir_of(options.definition) + "/system.lock";
    Lock lock = KEEL_TRY(locked_packages(plan, result.lock, source, options.update_lock, progress));
    std::vector<std::string> debs = KEEL_TRY(fetch_packages(lock, source, progress));
    Kernel kernel = KEEL_TRY(find_kernel());
    std::vector<SizeLine> pruned;
    Tree tree = KEEL_TRY(assemble(plan, debs, lock, kernel, progress, pruned));

    KEEL_TRY_STATUS(sys::make_dirs_durable(options.out_dir, 0755));
    result.initramfs = options.out_dir + "/initramfs.img";
    result.kernel = options.out_dir + "/vmlinuz";
    result.rootfs = options.rootfs ? options.out_dir + "/rootfs" : "";
    result.digest = KEEL_TRY(tree_digest(tree, options, kernel));
    result.size = size_report(tree);
    result.size.pruned = std::move(pruned);
    if (auto st = sys::stat_path(kernel.image, true))
        result.size.kernel_image_bytes = static_cast<uint64_t>(st->st_size);

    const std::string stamp = options.out_dir + "/build.json";
    json previous;  // the last build's stamp
    if (auto old = sys::read_file(stamp)) {
        previous = json::parse(*old, nullptr, false);
        if (previous.is_object() && previous.value("digest", "") == result.digest &&
            exists(result.initramfs) && exists(result.kernel) &&
            (!options.rootfs || exists(result.rootfs))) {
            result.up_to_date = true;
            struct stat st {};
            if (::stat(result.initramfs.c_str(), &st) == 0)
                result.size.compressed_bytes = static_cast<uint64_t>(st.st_size);
            result.size.modules_compressed_bytes =
                previous.value(json::json_pointer("/sizes/modules"), uint64_t{0});
            return result;
        }
    }
    (void)sys::unlink_if_exists(stamp);  // a build cut short leaves no stamp behind

    if (options.rootfs) {
        progress.step("writing " + result.rootfs);
        KEEL_TRY_STATUS(sys::remove_tree(result.rootfs));
        // Written beside it and published: on disk before the stamp says it is there.
        const std::string tmp = result.rootfs + ".tmp";
        KEEL_TRY_STATUS(sys::remove_tree(tmp));  // what a build cut short left
        KEEL_TRY_STATUS(write_directory(tree, tmp, progress));
        KEEL_TRY_STATUS(sys::publish(tmp, result.rootfs));
    }
    Tree modules = take_modules(tree);
    std::vector<CpioPart> parts = {{&tree, {}}};
    std::string modules_digest;
    if (modules.size() > 1) {
        modules_digest = KEEL_TRY(tree_digest(modules, options, kernel));
        parts.push_back({&modules, previous_part(previous, result.initramfs, modules_digest)});
        if (parts.back().reuse)
            progress.note("kernel modules unchanged: their archive is kept from the last build");
    }
    auto sizes = KEEL_TRY(write_cpio_parts(parts, result.initramfs, options.compression, progress));
    for (uint64_t part : sizes)
        result.size.compressed_bytes += part;
    if (sizes.size() == 2) result.size.modules_compressed_bytes = sizes[1];
    KEEL_TRY_STATUS(copy_file(kernel.image, result.kernel));
    KEEL_TRY_STATUS(sys::write_file_atomic(options.out_dir + "/system.json",
                                           plan.manifest.dump(2) + "\n", 0644));
    KEEL_TRY_STATUS(sys::write_file_atomic(options.out_dir + "/size.txt",
                                           format_size_report(result.size), 0644));
    json j = {{"digest", result.digest},
              {"definition", options.definition},
              {"lock", result.lock},
              {"modules_digest", modules_digest},
              {"kernel_release", kernel.release},
              {"sizes",
               {{"initramfs", result.size.compressed_bytes},
                {"modules", result.size.modules_compressed_bytes},
                {"system", result.size.system_compressed_bytes()},
                {"vmlinuz", result.size.kernel_image_bytes}}}};
    KEEL_TRY_STATUS(sys::write_file_atomic(stamp, j.dump(2) + "\n", 0644));
    return result;
}

}  // namespace keel::image
