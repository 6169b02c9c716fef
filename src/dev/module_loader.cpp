#include "dev/module_loader.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/module.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "base/sys_kernel.h"
#include "dev/decompress.h"
#include "dev/text.h"

namespace keel::dev {

namespace {

std::vector<std::string> conf_files(const std::vector<std::string>& dirs) {
    // Same-named files in earlier directories override later ones, as in kmod.
    std::map<std::string, std::string> by_name;
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        DIR* d = ::opendir(it->c_str());
        if (!d) continue;
        while (dirent* e = ::readdir(d)) {
            std::string_view n = e->d_name;
            if (n.size() > 5 && n.ends_with(".conf"))
                by_name[std::string(n)] = *it + "/" + std::string(n);
        }
        ::closedir(d);
    }
    std::vector<std::string> out;
    for (auto& [n, p] : by_name)
        out.push_back(p);
    return out;
}

}  // namespace

ModprobeD read_modprobe_d(const std::vector<std::string>& dirs) {
    ModprobeD d;
    for (const auto& file : conf_files(dirs)) {
        auto text = sys::read_file(file);
        if (!text) continue;
        std::string_view all = *text;
        size_t pos = 0;
        while (pos < all.size()) {
            size_t end = all.find('\n', pos);
            if (end == std::string_view::npos) end = all.size();
            std::string_view line = all.substr(pos, end - pos);
            pos = end + 1;
            if (auto hash = line.find('#'); hash != std::string_view::npos)
                line = line.substr(0, hash);
            auto w = split_words(line);
            if (w.size() >= 2 && w[0] == "blacklist") {
                d.blacklist.insert(module_name(w[1]));
            } else if (w.size() >= 3 && w[0] == "options") {
                std::string& o = d.options[module_name(w[1])];
                for (size_t i = 2; i < w.size(); ++i) {
                    if (!o.empty()) o += ' ';
                    o += w[i];
                }
            } else if (w.size() >= 3 && w[0] == "alias") {
                d.aliases.emplace_back(std::string(w[1]), module_name(w[2]));
            } else if (auto sd = parse_softdep(w)) {
                d.softdeps.push_back(std::move(*sd));
            }
        }
    }
    return d;
}

ModuleLoader::ModuleLoader(ModuleConfig cfg, std::string sysfs_root)
    : cfg_(std::move(cfg)), sysfs_root_(std::move(sysfs_root)) {}

Status ModuleLoader::ensure_index() {
    if (index_) return {};
    if (!index_error_.empty()) return Error(index_error_);
    auto ix = ModuleIndex::load(cfg_.dir);
    if (!ix) {
        index_error_ = ix.error().message();
        return ix.error();
    }
    index_.emplace(std::move(*ix));
    if (cfg_.modprobe_d) {
        auto conf = read_modprobe_d({"/etc/modprobe.d", "/run/modprobe.d", "/lib/modprobe.d"});
        for (auto& b : conf.blacklist)
            cfg_.blacklist.insert(b);
        for (auto& [m, o] : conf.options)
            cfg_.options.try_emplace(m, o);
        for (auto& sd : conf.softdeps)
            index_->add_softdep(sd.module, std::move(sd.pre), std::move(sd.post));
        for (auto& [pattern, module] : conf.aliases)
            index_->add_alias(pattern, module);
    }
    return {};
}

bool ModuleLoader::drop_index() {
    if (!index_) return false;
    index_.reset();
    return true;
}

bool ModuleLoader::live(const std::string& name) const {
    struct stat st;
    return ::stat((sysfs_root_ + "/module/" + name + "/initstate").c_str(), &st) == 0;
}

ModuleLoader::Outcome ModuleLoader::insert(const ModuleIndex::Step& step) {
    Outcome o{step.name, step.path, Outcome::State::kFailed, {}};
    if (done_.count(step.name) || live(step.name)) {
        done_.insert(step.name);
        o.state = Outcome::State::kAlready;
        return o;
    }
    if (!cfg_.load) {
        o.state = Outcome::State::kResolved;
        return o;
    }
    if (!unsupported_.empty()) {
        o.error = unsupported_;
        return o;
    }
    auto it = cfg_.options.find(step.name);
    const std::string params = it == cfg_.options.end() ? std::string() : it->second;
    auto fd = sys::open(step.path.c_str(), O_RDONLY);
    if (!fd) {
        o.error = fd.error().message();
        return o;
    }
    Compression kind = compression_of(step.path);
    Status st = sys::finit_module(fd->get(), params,
                                  kind == Compression::kNone ? 0 : MODULE_INIT_COMPRESSED_FILE);
    int code = st ? 0 : st.error().code();
    // Kernels without in-kernel decompression refuse the flag: decompress here.
    if (kind != Compression::kNone && (code == EOPNOTSUPP || code == EINVAL || code == ENOEXEC)) {
        auto data = sys::read_file(step.path);  // from the start, whatever the kernel read
        if (!data) {
            o.error = data.error().message();
            return o;
        }
        auto image = decompress(*data, kind);
        if (!image) {
            o.error = step.path + ": " + image.error().message();
            return o;
        }
        st = sys::init_module(image->data(), image->size(), params);
        code = st ? 0 : st.error().code();
    }
    if (st || code == EEXIST) {
        done_.insert(step.name);
        o.state = st ? Outcome::State::kLoaded : Outcome::State::kAlready;
        return o;
    }
    o.error = st.error().message();
    if (code == ENOSYS || code == EPERM) {
        // No module support, modules_disabled=1 or no CAP_SYS_MODULE: every later
        // load would fail the same way, so stop trying.
        unsupported_ = o.error;
    }
    return o;
}

ModuleLoader::AliasResult ModuleLoader::load_alias(std::string_view modalias) {
    AliasResult r;
    r.alias = std::string(modalias);
    if (auto st = ensure_index(); !st) {
        r.error = st.error().message();
        return r;
    }
    auto found = index_->lookup(modalias);
    r.builtin = std::move(found.builtin);
    for (auto& m : found.modules) {
        if (cfg_.blacklist.count(m))
            r.blacklisted.push_back(std::move(m));
        else
            r.modules.push_back(std::move(m));
    }
    for (const auto& m : r.modules) {
        auto plan = index_->plan(m);
        if (!plan) {
            r.outcomes.push_back({m, {}, Outcome::State::kFailed, plan.error().message()});
            continue;
        }
        for (const auto& step : *plan) {
            Outcome o = insert(step);
            bool failed = o.state == Outcome::State::kFailed;
            r.outcomes.push_back(std::move(o));
            if (failed && !step.soft && step.name != m) break;  // a hard dependency failed
        }
    }
    return r;
}

}  // namespace keel::dev
