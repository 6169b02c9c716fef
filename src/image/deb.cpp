// extract_deb: the .deb's ar container and its data.tar.{xz,zst,gz,bz2} read by
// libarchive. Content is unpacked once into NAME.unpacked/ beside the .deb, as
// numbered files (f/0, f/1, ...) so no name from the archive ever becomes a
// host path, with entries.json recording what each tar entry was; a later
// extraction replays entries.json into the tree without decompressing.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/packages.h"

namespace keel::image {
namespace {

using Archive = std::unique_ptr<archive, decltype(&archive_read_free)>;

struct Entry {
    std::string path;  // absolute, normalised
    std::string kind;  // "dir", "file", "symlink", "hardlink"
    uint32_t mode = 0, uid = 0, gid = 0;
    std::string target;  // symlink text, or the hardlink's file path
    uint64_t size = 0;
    int64_t content = -1;  // file: index of f/N
};

// "./usr/bin/x" -> "/usr/bin/x"; "" for a path that climbs with "..".
std::string archive_path(std::string_view name) {
    std::string p = "/" + std::string(name);
    size_t i = 0;
    while (i < p.size()) {
        size_t j = p.find('/', i + 1);
        if (j == std::string::npos) j = p.size();
        if (p.compare(i + 1, j - i - 1, "..") == 0) return "";
        i = j;
    }
    return normalize_path(p);
}

struct Outer {
    archive* ar;
};

la_ssize_t read_member(archive*, void* data, const void** buf) {
    static thread_local char block[65536];
    *buf = block;
    return archive_read_data(static_cast<Outer*>(data)->ar, block, sizeof block);
}

Status write_content(archive* a, const std::string& path, const std::string& what) {
    Fd fd = KEEL_TRY(sys::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0644));
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n < 0) return Error(what + ": " + archive_error_string(a));
        if (n == 0) return {};
        size_t done = 0;
        while (done < static_cast<size_t>(n)) {
            auto w = sys::write(fd.get(), buf + done, static_cast<size_t>(n) - done);
            if (!w) return Error("cannot write " + path, w.error().code());
            done += *w;
        }
    }
}

// Reads the data tar (already positioned at the member in `outer`) into `dir`.
Result<std::vector<Entry>> unpack_data(archive* outer, const std::string& dir,
                                       const std::string& deb) {
    Archive tar(archive_read_new(), &archive_read_free);
    archive_read_support_format_tar(tar.get());
    archive_read_support_format_gnutar(tar.get());
    archive_read_support_filter_all(tar.get());
    Outer o{outer};
    if (archive_read_open(tar.get(), &o, nullptr, read_member, nullptr) != ARCHIVE_OK)
        return Error(deb + ": data.tar: " + archive_error_string(tar.get()));
    std::vector<Entry> entries;
    archive_entry* e = nullptr;
    for (;;) {
        int r = archive_read_next_header(tar.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return Error(deb + ": data.tar: " + archive_error_string(tar.get()));
        const char* name = archive_entry_pathname(e);
        Entry en;
        en.path = archive_path(name ? name : "");
        if (en.path.empty())
            return Error(deb + ": unsafe path in data.tar: " + std::string(name ? name : ""));
        en.mode = archive_entry_perm(e) & 07777;
        en.uid = static_cast<uint32_t>(archive_entry_uid(e));
        en.gid = static_cast<uint32_t>(archive_entry_gid(e));
        if (const char* hl = archive_entry_hardlink(e)) {
            en.kind = "hardlink";
            en.target = archive_path(hl);
            if (en.target.empty())
                return Error(deb + ": unsafe hard link target: " + std::string(hl));
        } else {
            switch (archive_entry_filetype(e)) {
                case AE_IFDIR:
                    en.kind = "dir";
                    break;
                case AE_IFLNK:
                    en.kind = "symlink";
                    en.target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
                    if (en.target.empty()) return Error(deb + ": empty symlink " + en.path);
                    break;
                case AE_IFREG: {
                    en.kind = "file";
                    en.content = static_cast<int64_t>(entries.size());
                    std::string file = dir + "/f/" + std::to_string(en.content);
                    KEEL_TRY_STATUS(write_content(tar.get(), file, deb + ": " + en.path));
                    en.size = static_cast<uint64_t>(KEEL_TRY(sys::stat_path(file)).st_size);
                    break;
                }
                default:  // device nodes and fifos: Debian packages ship none; the image makes /dev
                    return Error(deb + ": unsupported file type of " + en.path);
            }
        }
        if (en.path != "/") entries.push_back(std::move(en));
    }
    return entries;
}

nlohmann::json to_json(const std::vector<Entry>& entries) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : entries)
        a.push_back({{"path", e.path},
                     {"kind", e.kind},
                     {"mode", e.mode},
                     {"uid", e.uid},
                     {"gid", e.gid},
                     {"target", e.target},
                     {"size", e.size},
                     {"content", e.content}});
    return a;
}

Result<std::vector<Entry>> from_json(const std::string& file) {
    std::string text = KEEL_TRY(sys::read_file(file));
    auto a = nlohmann::json::parse(text, nullptr, false);
    if (a.is_discarded() || !a.is_array()) return Error(file + ": not an entry list");
    std::vector<Entry> entries;
    try {
        for (const auto& j : a)
            entries.push_back({j.at("path").get<std::string>(), j.at("kind").get<std::string>(),
                               j.at("mode").get<uint32_t>(), j.at("uid").get<uint32_t>(),
                               j.at("gid").get<uint32_t>(), j.at("target").get<std::string>(),
                               j.at("size").get<uint64_t>(), j.at("content").get<int64_t>()});
    } catch (const nlohmann::json::exception& ex) {
        return Error(file + ": " + ex.what());
    }
    return entries;
}

// Unpacks the .deb into `dir` (through a temporary dir published in place, so a
// crash never leaves a half-unpacked or unsynced cache entry that later builds trust).
Result<std::vector<Entry>> unpack(const std::string& deb, const std::string& dir) {
    std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
    KEEL_TRY_STATUS(sys::remove_tree(tmp));
    KEEL_TRY_STATUS(sys::make_dirs(tmp + "/f", 0755));
    Archive ar(archive_read_new(), &archive_read_free);
    archive_read_support_format_ar(ar.get());
    if (archive_read_open_filename(ar.get(), deb.c_str(), 65536) != ARCHIVE_OK)
        return Error("cannot read " + deb + ": " + archive_error_string(ar.get()));
    archive_entry* e = nullptr;
    bool debian_binary = false;
    for (;;) {
        int r = archive_read_next_header(ar.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN)
            return Error(deb + ": not a Debian package: " + archive_error_string(ar.get()));
        std::string_view name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (name == "debian-binary") debian_binary = true;
        if (!name.starts_with("data.tar")) continue;
        if (!debian_binary)
            return Error(deb + ": not a Debian package (no debian-binary member first)");
        auto entries = unpack_data(ar.get(), tmp, deb);
        if (!entries) {
            (void)sys::remove_tree(tmp);
            return entries.error();
        }
        KEEL_TRY_STATUS(
            sys::write_file_atomic(tmp + "/entries.json", to_json(*entries).dump() + "\n"));
        // A leftover without entries.json is incomplete; a complete one from a
        // concurrent build wins and ours is dropped, so no reader sees files vanish.
        if (!sys::stat_path(dir + "/entries.json").ok()) KEEL_TRY_STATUS(sys::remove_tree(dir));
        if (auto st = sys::publish(tmp, dir); !st) {
            KEEL_TRY_STATUS(sys::remove_tree(tmp));
            if (st.error().code() != ENOTEMPTY && st.error().code() != EEXIST) return st.error();
            return from_json(dir + "/entries.json");
        }
        return entries;
    }
    (void)sys::remove_tree(tmp);
    return Error(deb + ": no data.tar member");
}

}  // namespace

Status extract_deb(const std::string& deb_path, Tree& tree, const std::string& origin) {
    std::string stem =
        deb_path.ends_with(".deb") ? deb_path.substr(0, deb_path.size() - 4) : deb_path;
    std::string dir = stem + ".unpacked";
    std::vector<Entry> entries;
    if (auto cached = from_json(dir + "/entries.json"); cached.ok())
        entries = std::move(*cached);
    else
        entries = KEEL_TRY(unpack(deb_path, dir));

    std::map<std::string, const Entry*> files;  // for hard links
    for (const auto& e : entries) {
        Node n;
        n.mode = e.mode;
        n.uid = e.uid;
        n.gid = e.gid;
        n.origin = origin;
        if (e.kind == "dir") {
            n.kind = Node::Kind::dir;
            // Merged /usr: a package's /bin dir goes through the image's /bin -> usr/bin
            // (the link stays, its target dir is made), as dpkg keeps directory symlinks.
            const Node* here = tree.lookup(e.path, false);
            if (here && here->kind == Node::Kind::symlink) {
                std::string there = tree.resolve(e.path, true);
                if (there.empty())
                    return Error(deb_path + ": " + e.path + " is a symlink that loops");
                const Node* target = tree.lookup(there, false);
                if (target && target->kind == Node::Kind::dir) continue;
                KEEL_TRY(tree.put(there, std::move(n)));
                continue;
            }
        } else if (e.kind == "symlink") {
            n.kind = Node::Kind::symlink;
            n.mode = 0777;
            n.target = e.target;
        } else if (e.kind == "file" || e.kind == "hardlink") {
            const Entry* f = &e;
            if (e.kind == "hardlink") {
                auto it = files.find(e.target);
                if (it == files.end())
                    return Error(deb_path + ": hard link " + e.path + " to " + e.target +
                                 ", which is not a file before it");
                f = it->second;
            } else {
                files[e.path] = &e;
            }
            if (f->content < 0)
                return Error(dir + "/entries.json: file " + e.path + " has no content");
            n.kind = Node::Kind::file;
            n.source = dir + "/f/" + std::to_string(f->content);
            n.size = f->size;
        } else {
            return Error(dir + "/entries.json: unknown kind \"" + e.kind + "\" of " + e.path);
        }
        auto at = tree.put(e.path, std::move(n));
        if (!at) return Error(deb_path + ": " + at.error().message());
    }
    return {};
}

}  // namespace keel::image
