// keel build SYSTEM.lua [-o OUT]: a system definition to an initramfs, a kernel
// and (with --rootfs) a directory keel run boots; see docs/image.md.
#include <unistd.h>

#include <cstdio>

#include "base/log.h"
#include "cli/args.h"
#include "cli/image_build_step.h"
#include "cli/image_paths.h"
#include "cli/image_verbs.h"
#include "image/build.h"
#include "image/terminal_progress.h"

namespace keel::cli {

namespace {

std::optional<image::Compression> compression_named(const std::string& name) {
    if (name == "zstd") return image::Compression::zstd;
    if (name == "xz") return image::Compression::xz;
    if (name == "gzip") return image::Compression::gzip;
    if (name == "none") return image::Compression::none;
    return std::nullopt;
}

}  // namespace

int image_build_main(int argc, char** argv) {
    log::set_program("keel build");
    std::string definition, compression = "zstd";
    image::BuildOptions o;
    o.out_dir = "out";
    bool quiet = false;
    Args args(
        "build", "SYSTEM.lua",
        "Builds the system a Lua definition declares: resolves its Debian packages (pinned in\n"
        "system.lock beside it), fetches and unpacks them, adds keel and host files with their\n"
        "libraries and the kernel modules it needs, renders /etc and the manifest, and writes\n"
        "OUT/initramfs.img, OUT/vmlinuz, OUT/system.json and OUT/size.txt. An unchanged\n"
        "definition leaves the outputs as they are. See docs/system.md and docs/image.md.");
    args.positional("SYSTEM.lua", "the system definition", &definition, true);
    args.option("out", 'o', "DIR", "where the outputs go (default: out)", &o.out_dir);
    args.option("cache", 0, "DIR",
                "package cache (default: $KEEL_CACHE, $XDG_CACHE_HOME/keel, ~/.cache/keel)",
                &o.cache_dir);
    args.flag("update", 0, "resolve the packages again and rewrite system.lock", &o.update_lock);
    args.flag("rootfs", 0, "also write OUT/rootfs/, the directory keel run boots", &o.rootfs);
    args.option("compression", 0, "NAME", "initramfs compression: zstd (default), xz, gzip, none",
                &compression);
    args.flag("quiet", 'q', "print only errors and the result", &quiet);
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto c = compression_named(compression);
    if (!c) return args.usage_error("unknown compression '" + compression + "'");
    o.compression = *c;
    return build_definition(definition, o, quiet).exit_code;
}

bool is_definition(const std::string& arg) {
    return arg.size() > 4 && arg.ends_with(".lua");
}

BuildStep build_definition(const std::string& definition, image::BuildOptions o, bool quiet) {
    BuildStep step;
    o.definition = absolute_path(definition);
    auto paths = image_tool_paths();
    if (!paths.ok()) {
        log::error("%s", paths.error().message().c_str());
        step.exit_code = kExitUsage;
        return step;
    }
    o.definition_options.lua_dir = paths->lua_dir;
    o.definition_options.keel_binary = paths->keel;

    image::TerminalProgress terminal;
    image::NoProgress silent;
    image::Progress& progress = quiet ? static_cast<image::Progress&>(silent) : terminal;
    auto built = image::build_system(o, progress);
    if (!built.ok()) {
        log::error("%s", built.error().message().c_str());
        step.exit_code = image_exit_code(built.error().code());
        return step;
    }
    if (!quiet) std::fputs(image::format_size_report(built->size).c_str(), stdout);
    std::printf("%s %s\n  kernel    %s\n  initramfs %s\n",
                built->up_to_date ? "up to date:" : "built:", o.definition.c_str(),
                built->kernel.c_str(), built->initramfs.c_str());
    if (!built->rootfs.empty()) std::printf("  rootfs    %s\n", built->rootfs.c_str());
    std::fflush(stdout);
    step.result = std::move(*built);
    return step;
}

}  // namespace keel::cli
