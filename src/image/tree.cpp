#include "image/tree.h"

#include <sys/stat.h>

#include <vector>

#include "base/sys.h"

namespace keel::image {
namespace {

constexpr int kMaxLinks = 40;  // as the kernel's MAXSYMLINKS

std::vector<std::string_view> components(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string parent_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& dir, std::string_view name) {
    return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

}  // namespace

std::string normalize_path(std::string_view path) {
    if (path.empty() || path[0] != '/') return "";
    std::vector<std::string_view> out;
    for (auto c : components(path)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    std::string s;
    for (auto c : out) {
        s += '/';
        s += c;
    }
    return s.empty() ? "/" : s;
}

Tree::Tree() {
    Node root;
    root.kind = Node::Kind::dir;
    root.mode = 0755;
    nodes_.emplace("/", std::move(root));
}

// Walks `path` component by component, replacing symlinks met on the way by
// their targets. Components that do not exist are kept as written, so the
// result is where the path would be created. "" on a loop or escape.
std::string Tree::resolve(std::string_view path, bool follow_last) const {
    std::string start = normalize_path(path);
    if (start.empty()) return "";
    std::vector<std::string> todo;  // components still to walk, last at the back
    for (auto c : components(start))
        todo.insert(todo.begin(), std::string(c));
    std::string cur = "/";
    int links = 0;
    while (!todo.empty()) {
        std::string name;
        name.swap(todo.back());
        todo.pop_back();
        if (name == ".") continue;
        if (name == "..") {
            cur = parent_of(cur);
            continue;
        }
        std::string next = join(cur, name);
        auto it = nodes_.find(next);
        bool last = todo.empty();
        if (it != nodes_.end() && it->second.kind == Node::Kind::symlink &&
            (!last || follow_last)) {
            if (++links > kMaxLinks) return "";
            const std::string& t = it->second.target;
            if (t.empty()) return "";
            auto parts = components(t);
            for (auto p = parts.rbegin(); p != parts.rend(); ++p)
                todo.emplace_back(*p);
            if (t[0] == '/') cur = "/";
            continue;
        }
        if (it != nodes_.end() && it->second.kind != Node::Kind::dir && !last) return "";
        cur = std::move(next);
    }
    return cur;
}

const Node* Tree::lookup(std::string_view path, bool follow_last) const {
    std::string r = resolve(path, follow_last);
    if (r.empty()) return nullptr;
    auto it = nodes_.find(r);
    return it == nodes_.end() ? nullptr : &it->second;
}

Result<std::string> Tree::put(std::string_view path, Node node) {
    std::string norm = normalize_path(path);
    if (norm.empty()) return Error("image path is not absolute: " + std::string(path));
    if (norm == "/") {
        if (node.kind != Node::Kind::dir) return Error("cannot replace / with a non-directory");
        nodes_["/"].mode = node.mode;
        return std::string("/");
    }
    size_t slash = norm.rfind('/');
    std::string parent = resolve(norm.substr(0, slash == 0 ? 1 : slash), true);
    auto pit = nodes_.find(parent);
    if (parent.empty() || (pit != nodes_.end() && pit->second.kind != Node::Kind::dir))
        return Error("cannot place " + norm + ": a parent is not a directory or a link loops");
    std::string at = join(parent, std::string_view(norm).substr(slash + 1));
    // Missing parents become directories.
    for (std::string p = parent; p != "/"; p = parent_of(p)) {
        auto it = nodes_.find(p);
        if (it != nodes_.end()) break;
        Node d;
        d.kind = Node::Kind::dir;
        d.mode = 0755;
        d.origin = node.origin;
        d.implicit = true;
        nodes_.emplace(p, std::move(d));
    }
    if (node.kind == Node::Kind::file)
        node.size = node.source.empty() ? node.data.size() : node.size;
    node.mode &= 07777;
    auto it = nodes_.find(at);
    // A directory over a symlink to a directory keeps the link (tar's
    // --keep-directory-symlink): packages ship ./bin/ while the image has
    // /bin -> usr/bin.
    if (it != nodes_.end() && it->second.kind == Node::Kind::symlink &&
        node.kind == Node::Kind::dir)
        if (const Node* t = lookup(at); t && t->kind == Node::Kind::dir) return resolve(at);
    if (it != nodes_.end()) {
        Node& old = it->second;
        if (old.kind == Node::Kind::dir && node.kind == Node::Kind::dir) {
            old.mode = node.mode;
            old.uid = node.uid;
            old.gid = node.gid;
            old.implicit = old.implicit && node.implicit;
            return at;
        }
        if (old.kind == Node::Kind::dir) {
            auto below = nodes_.lower_bound(at + "/");
            if (below != nodes_.end() && below->first.starts_with(at + "/"))
                return Error("cannot replace directory " + at + " (from " + old.origin +
                             ") with a non-directory from " + node.origin);
        }
        old = std::move(node);
        return at;
    }
    nodes_.emplace(at, std::move(node));
    return at;
}

Result<std::string> Tree::put_file(std::string_view path, std::string data, uint32_t mode,
                                   std::string origin) {
    Node n;
    n.kind = Node::Kind::file;
    n.mode = mode;
    n.data = std::move(data);
    n.origin = std::move(origin);
    return put(path, std::move(n));
}

Result<std::string> Tree::put_host_file(std::string_view path, std::string source, uint32_t mode,
                                        std::string origin) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) return errno_error("cannot stat " + source);
    if (!S_ISREG(st.st_mode)) return Error(source + " is not a regular file");
    Node n;
    n.kind = Node::Kind::file;
    n.mode = mode;
    n.source = std::move(source);
    n.size = static_cast<uint64_t>(st.st_size);
    n.origin = std::move(origin);
    return put(path, std::move(n));
}

Result<std::string> Tree::put_dir(std::string_view path, uint32_t mode, std::string origin) {
    Node n;
    n.kind = Node::Kind::dir;
    n.mode = mode;
    n.origin = std::move(origin);
    return put(path, std::move(n));
}

Result<std::string> Tree::put_symlink(std::string_view path, std::string target,
                                      std::string origin) {
    Node n;
    n.kind = Node::Kind::symlink;
    n.mode = 0777;
    n.target = std::move(target);
    n.origin = std::move(origin);
    return put(path, std::move(n));
}

Status Tree::remove(std::string_view path) {
    std::string norm = normalize_path(path);
    if (norm.empty() || norm == "/") return Error("cannot remove " + std::string(path));
    auto it = nodes_.find(norm);
    if (it == nodes_.end()) return Error(norm + " is not in the image", ENOENT);
    nodes_.erase(it);
    // Everything below: keys from "norm/" up to "norm0" ('0' follows '/' in ASCII).
    nodes_.erase(nodes_.lower_bound(norm + "/"), nodes_.lower_bound(norm + "0"));
    return {};
}

Result<std::string> Tree::content(const Node& node) {
    if (node.kind != Node::Kind::file) return Error("not a regular file");
    if (node.source.empty()) return node.data;
    return sys::read_file(node.source);
}

}  // namespace keel::image
