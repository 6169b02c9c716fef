// Tree: the root file system of an image, held as a sorted map of absolute
// paths to nodes before anything is written. Every producer (packages, host
// files with their ELF closure, kernel modules, files the definition renders)
// adds to one Tree; every writer (cpio initramfs, directory for containers,
// size report) reads it in path order, so outputs are deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::image {

struct Node {
    enum class Kind { dir, file, symlink };
    Kind kind = Kind::file;
    uint32_t mode = 0644;  // permission bits only (07777), never the S_IFMT type
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string target;  // symlink: the link text
    // file: the content is the bytes of host file `source` when set, else `data`.
    std::string source;
    std::string data;
    uint64_t size = 0;      // file: byte count (set by Tree::put from source or data)
    std::string origin;     // who put it here: "pkg:busybox-static", "host", "kernel", "definition"
    bool implicit = false;  // dir: created by put() as a missing parent, not put itself
};

class Tree {
  public:
    using Map = std::map<std::string, Node, std::less<>>;

    Tree();  // holds "/" (dir 0755)

    // Adds or replaces `path` (absolute; "." and ".." and duplicate slashes are
    // normalised). Parent components are resolved through symlinks already in
    // the tree, as extraction onto a real file system would (so with /bin ->
    // usr/bin present, "/bin/sh" lands at /usr/bin/sh); missing parents are
    // created as 0755 dirs with the node's origin. A dir over an existing dir
    // only updates its mode and owner; replacing a non-empty dir with a
    // non-dir is an error. Returns the path the node was stored at.
    Result<std::string> put(std::string_view path, Node node);

    // Convenience producers; `data` is the file's content.
    Result<std::string> put_file(std::string_view path, std::string data, uint32_t mode,
                                 std::string origin);
    Result<std::string> put_host_file(std::string_view path, std::string source, uint32_t mode,
                                      std::string origin);  // size from stat(2)
    Result<std::string> put_dir(std::string_view path, uint32_t mode, std::string origin);
    Result<std::string> put_symlink(std::string_view path, std::string target, std::string origin);

    // The node at `path` following symlinks in every component (the last too when
    // `follow_last`), as open(2) would inside the image; nullptr when absent or
    // when a link loops or escapes.
    const Node* lookup(std::string_view path, bool follow_last = true) const;
    // The resolved path lookup() would reach, or "" when it cannot.
    std::string resolve(std::string_view path, bool follow_last = true) const;

    Status remove(std::string_view path);  // the node and, for a dir, all below it

    const Map& nodes() const { return nodes_; }
    size_t size() const { return nodes_.size(); }

    // The bytes of a file node (reads `source` when set).
    static Result<std::string> content(const Node& node);

  private:
    Map nodes_;
};

// "/a//b/./c/../d" -> "/a/b/d"; "" when the path is not absolute.
std::string normalize_path(std::string_view path);

}  // namespace keel::image
