#include "dev/module_index.h"

#include <fnmatch.h>

#include <algorithm>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "base/text_lines.h"
#include "dev/text.h"

namespace keel::dev {

namespace {

constexpr int kMaxDepth = 64;  // dependency chains are short; this stops loops in broken files

char norm(char c) {
    return c == '-' ? '_' : c;
}

// The part of a pattern before its first wildcard.
std::string_view literal_prefix(std::string_view pattern) {
    size_t n = pattern.find_first_of("*?[");
    return n == std::string_view::npos ? pattern : pattern.substr(0, n);
}

// Compares as if both strings were normalised.
int compare_norm(std::string_view a, std::string_view b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        char x = norm(a[i]), y = norm(b[i]);
        if (x != y) return static_cast<unsigned char>(x) < static_cast<unsigned char>(y) ? -1 : 1;
    }
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

std::string_view line_at(std::string_view text, uint32_t off) {
    size_t end = text.find('\n', off);
    if (end == std::string_view::npos) end = text.size();
    return text.substr(off, end - off);
}

}  // namespace

std::string module_name(std::string_view s) {
    if (auto slash = s.rfind('/'); slash != std::string_view::npos) s = s.substr(slash + 1);
    if (auto dot = s.find('.'); dot != std::string_view::npos) s = s.substr(0, dot);
    std::string out(s);
    for (char& c : out)
        c = norm(c);
    return out;
}

std::optional<Softdep> parse_softdep(const std::vector<std::string_view>& w) {
    if (w.size() < 3 || w[0] != "softdep") return std::nullopt;
    Softdep sd{std::string(w[1]), {}, {}};
    std::vector<std::string>* into = nullptr;
    for (size_t i = 2; i < w.size(); ++i) {
        if (w[i] == "pre:")
            into = &sd.pre;
        else if (w[i] == "post:")
            into = &sd.post;
        else if (into)
            into->emplace_back(w[i]);
    }
    return sd;
}

std::string normalize_alias(std::string_view alias) {
    std::string out(alias);
    bool in_class = false;
    for (char& c : out) {
        if (c == '[')
            in_class = true;
        else if (c == ']')
            in_class = false;
        else if (!in_class)
            c = norm(c);
    }
    return out;
}

Result<ModuleIndex> ModuleIndex::load(const std::string& dir) {
    ModuleIndex ix;
    ix.dir_ = dir;
    ix.alias_ = KEEL_TRY(sys::map_file(dir + "/modules.alias"));
    ix.dep_ = KEEL_TRY(sys::map_file(dir + "/modules.dep"));
    if (ix.alias_.view().size() > UINT32_MAX || ix.dep_.view().size() > UINT32_MAX)
        return Error(dir + ": module index files over 4 GiB");

    struct Entry {
        std::string_view key;
        uint32_t off;
    };
    std::vector<Entry> entries;
    for_each_line(ix.alias_.view(), [&](std::string_view line) {
        size_t off = static_cast<size_t>(line.data() - ix.alias_.view().data());
        auto w = split_words(line);
        if (w.size() >= 3 && w[0] == "alias")
            entries.push_back({literal_prefix(w[1]), static_cast<uint32_t>(off)});
    });
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return compare_norm(a.key, b.key) < 0; });
    ix.alias_lines_.reserve(entries.size());
    for (const auto& e : entries)
        ix.alias_lines_.push_back(e.off);

    entries.clear();
    for_each_line(ix.dep_.view(), [&](std::string_view line) {
        size_t off = static_cast<size_t>(line.data() - ix.dep_.view().data());
        size_t colon = line.find(':');
        if (colon != std::string_view::npos && colon > 0)
            entries.push_back({line.substr(0, colon), static_cast<uint32_t>(off)});
    });
    std::vector<std::pair<std::string, uint32_t>> named;
    named.reserve(entries.size());
    for (const auto& e : entries)
        named.emplace_back(module_name(e.key), e.off);
    std::stable_sort(named.begin(), named.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    ix.dep_lines_.reserve(named.size());
    for (const auto& n : named)
        ix.dep_lines_.push_back(n.second);

    if (auto soft = sys::read_file(dir + "/modules.softdep")) {
        for_each_line(*soft, [&](std::string_view line) {
            if (auto sd = parse_softdep(split_words(line)))
                ix.tree_soft_.push_back(
                    {module_name(sd->module), std::move(sd->pre), std::move(sd->post)});
        });
    }
    if (auto builtin = sys::read_file(dir + "/modules.builtin")) {
        for_each_line(*builtin, [&](std::string_view line) {
            if (!line.empty()) ix.builtin_.push_back(module_name(line));
        });
        std::sort(ix.builtin_.begin(), ix.builtin_.end());
    }
    if (auto info = sys::read_file(dir + "/modules.builtin.modinfo")) {
        std::string_view all = *info;
        size_t pos = 0;
        while (pos < all.size()) {
            size_t end = all.find('\0', pos);
            if (end == std::string_view::npos) end = all.size();
            std::string_view rec = all.substr(pos, end - pos);  // "module.alias=pattern"
            size_t dot = rec.find('.'), eq = rec.find('=');
            if (dot != std::string_view::npos && eq != std::string_view::npos && dot < eq &&
                rec.substr(dot + 1, eq - dot - 1) == "alias")
                ix.builtin_aliases_.emplace_back(std::string(rec.substr(eq + 1)),
                                                 module_name(rec.substr(0, dot)));
            pos = end + 1;
        }
    }
    return ix;
}

void ModuleIndex::add_alias(const std::string& pattern, const std::string& module) {
    config_aliases_.emplace_back(normalize_alias(pattern), module_name(module));
}

void ModuleIndex::add_softdep(const std::string& module, std::vector<std::string> pre,
                              std::vector<std::string> post) {
    config_soft_.push_back({module_name(module), std::move(pre), std::move(post)});
}

// Lines were checked at load: "alias PATTERN MODULE", single words.
std::string_view ModuleIndex::alias_pattern(uint32_t off) const {
    std::string_view line = line_at(alias_.view(), off);
    size_t b = line.find_first_not_of(" \t", 5);
    size_t e = line.find_first_of(" \t", b);
    return line.substr(b, e - b);
}

std::string_view ModuleIndex::alias_module(uint32_t off) const {
    auto w = split_words(line_at(alias_.view(), off));
    return w.size() >= 3 ? w[2] : std::string_view();
}

std::string_view ModuleIndex::dep_name_at(uint32_t off, std::string* scratch) const {
    std::string_view line = line_at(dep_.view(), off);
    *scratch = module_name(line.substr(0, line.find(':')));
    return *scratch;
}

bool ModuleIndex::find_dep(std::string_view name, DepLine* out) const {
    std::string scratch;
    auto it = std::lower_bound(
        dep_lines_.begin(), dep_lines_.end(), name,
        [&](uint32_t off, std::string_view key) { return dep_name_at(off, &scratch) < key; });
    if (it == dep_lines_.end() || dep_name_at(*it, &scratch) != name) return false;
    std::string_view line = line_at(dep_.view(), *it);
    size_t colon = line.find(':');
    out->path = line.substr(0, colon);
    out->deps = split_words(line.substr(colon + 1));
    return true;
}

bool ModuleIndex::is_module(std::string_view name) const {
    DepLine d;
    return find_dep(module_name(name), &d);
}

bool ModuleIndex::is_builtin(std::string_view name) const {
    return std::binary_search(builtin_.begin(), builtin_.end(), module_name(name));
}

ModuleIndex::Lookup ModuleIndex::lookup(std::string_view name) const {
    Lookup r;
    if (name.empty()) return r;
    if (!config_aliases_.empty()) {
        const std::string key = normalize_alias(name);
        for (const auto& [pattern, module] : config_aliases_) {
            if (::fnmatch(pattern.c_str(), key.c_str(), 0) != 0) continue;
            auto& into = is_module(module) || !is_builtin(module) ? r.modules : r.builtin;
            if (std::find(into.begin(), into.end(), module) == into.end()) into.push_back(module);
        }
        if (!r.modules.empty() || !r.builtin.empty()) return r;
    }
    if (name.find_first_of(":*?[") == std::string_view::npos) {
        std::string m = module_name(name);
        if (is_module(m)) {
            r.modules.push_back(m);
            return r;
        }
        if (is_builtin(m)) {
            r.builtin.push_back(m);
            return r;
        }
    }
    const std::string key = normalize_alias(name);
    std::vector<uint32_t> hits;
    std::string pattern;
    for (size_t len = 0; len <= key.size(); ++len) {
        std::string_view prefix(key.data(), len);
        auto lo =
            std::lower_bound(alias_lines_.begin(), alias_lines_.end(), prefix,
                             [&](uint32_t off, std::string_view k) {
                                 return compare_norm(literal_prefix(alias_pattern(off)), k) < 0;
                             });
        for (auto it = lo; it != alias_lines_.end(); ++it) {
            std::string_view pat = alias_pattern(*it);
            if (compare_norm(literal_prefix(pat), prefix) != 0) break;
            pattern = normalize_alias(pat);
            if (::fnmatch(pattern.c_str(), key.c_str(), 0) == 0) hits.push_back(*it);
        }
    }
    std::sort(hits.begin(), hits.end());  // file order is modules.order order
    for (uint32_t off : hits) {
        std::string m = module_name(alias_module(off));
        if (std::find(r.modules.begin(), r.modules.end(), m) == r.modules.end())
            r.modules.push_back(m);
    }
    if (!r.modules.empty()) return r;
    for (const auto& [pat, mod] : builtin_aliases_) {
        if (::fnmatch(normalize_alias(pat).c_str(), key.c_str(), 0) == 0 &&
            std::find(r.builtin.begin(), r.builtin.end(), mod) == r.builtin.end())
            r.builtin.push_back(mod);
    }
    return r;
}

const ModuleIndex::Soft* ModuleIndex::softdep_of(const std::string& name) const {
    for (const auto* list : {&config_soft_, &tree_soft_})
        for (const auto& s : *list)
            if (::fnmatch(s.module.c_str(), name.c_str(), 0) == 0) return &s;
    return nullptr;
}

// The same walk as kmod's __kmod_module_get_probe_list / __kmod_module_fill_softdep.
void ModuleIndex::probe_list(const std::string& name, bool soft, PlanState& st) const {
    if (std::find(st.visited.begin(), st.visited.end(), name) != st.visited.end()) return;
    if (st.depth > kMaxDepth) return;
    st.visited.push_back(name);
    ++st.depth;
    DepLine d;
    if (find_dep(name, &d))
        for (auto it = d.deps.rbegin(); it != d.deps.rend(); ++it)
            fill_softdep(module_name(*it), soft, st);
    fill_softdep(name, soft, st);
    --st.depth;
}

void ModuleIndex::fill_softdep(const std::string& name, bool soft, PlanState& st) const {
    const Soft* s = softdep_of(name);
    if (s)
        for (const auto& pre : s->pre)
            for (const auto& m : lookup(pre).modules)
                probe_list(m, true, st);
    DepLine d;
    if (find_dep(name, &d)) {
        auto it = std::find_if(st.out.begin(), st.out.end(),
                               [&](const Step& x) { return x.name == name; });
        if (it == st.out.end()) {
            std::string path =
                d.path.starts_with('/') ? std::string(d.path) : dir_ + "/" + std::string(d.path);
            st.out.push_back({name, std::move(path), soft});
        } else if (!soft) {
            it->soft = false;
        }
    }
    if (s)
        for (const auto& post : s->post)
            for (const auto& m : lookup(post).modules)
                probe_list(m, true, st);
}

Result<std::vector<ModuleIndex::Step>> ModuleIndex::plan(std::string_view module) const {
    std::string name = module_name(module);
    DepLine d;
    if (!find_dep(name, &d)) {
        if (is_builtin(name)) return std::vector<Step>{};
        return Error("module " + name + " not found in " + dir_ + "/modules.dep");
    }
    PlanState st;
    probe_list(name, false, st);
    return std::move(st.out);
}

}  // namespace keel::dev
