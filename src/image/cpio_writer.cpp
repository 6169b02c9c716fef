// write_cpio: the Tree as the kernel's initramfs. libarchive writes cpio
// "newc"; gzip and zstd are libarchive filters, xz is liblzma here because
// libarchive's xz filter always uses a CRC64 check, which the kernel's xz
// decompressor (lib/xz, before 6.9) rejects: the kernel wants `xz --check=crc32`.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/durable.h"
#include "base/sys.h"
#include "image/writers.h"

namespace keel::image {
namespace {

constexpr size_t kChunk = 1 << 16;

// Where the archive's bytes go: the file, through liblzma for xz.
class Sink {
  public:
    Sink(int fd, bool xz) : fd_(fd), xz_(xz) {}
    ~Sink() {
        if (xz_started_) lzma_end(&lz_);
    }

    Status open() {
        if (!xz_) return {};
        // Preset 6 with a CRC32 check: what the kernel's docs recommend
        // (Documentation/staging/xz.rst); the kernel allocates the dictionary
        // dynamically for initramfs, so the 8 MiB preset dictionary is fine.
        if (lzma_easy_encoder(&lz_, 6, LZMA_CHECK_CRC32) != LZMA_OK)
            return Error("cannot start the xz encoder");
        xz_started_ = true;
        return {};
    }

    Status write(const void* data, size_t len) { return pump(data, len, LZMA_RUN); }

    Status finish() {
        if (xz_) KEEL_TRY_STATUS(pump(nullptr, 0, LZMA_FINISH));
        return {};
    }

    uint64_t written() const { return written_; }

  private:
    Status put(const void* data, size_t len) {
        KEEL_TRY_STATUS(sys::write_all(fd_, data, len));
        written_ += len;
        return {};
    }

    Status pump(const void* data, size_t len, lzma_action action) {
        if (!xz_) return put(data, len);
        lz_.next_in = static_cast<const uint8_t*>(data);
        lz_.avail_in = len;
        uint8_t out[kChunk];
        for (;;) {
            lz_.next_out = out;
            lz_.avail_out = sizeof out;
            lzma_ret r = lzma_code(&lz_, action);
            if (r != LZMA_OK && r != LZMA_STREAM_END) return Error("xz compression failed");
            KEEL_TRY_STATUS(put(out, sizeof out - lz_.avail_out));
            if (r == LZMA_STREAM_END) return {};
            if (action == LZMA_RUN && lz_.avail_in == 0 && lz_.avail_out != 0) return {};
        }
    }

    int fd_;
    bool xz_;
    bool xz_started_ = false;
    lzma_stream lz_ = LZMA_STREAM_INIT;
    uint64_t written_ = 0;
};

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t sink_write(archive* a, void* ctx, const void* buf, size_t len) {
    auto st = static_cast<Sink*>(ctx)->write(buf, len);
    if (!st) {
        archive_set_error(a, st.error().code() ? st.error().code() : EIO, "%s",
                          st.error().message().c_str());
        return -1;
    }
    return static_cast<la_ssize_t>(len);
}

int64_t source_date_epoch() {
    const char* s = std::getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s) return 0;
    char* end = nullptr;
    long long v = std::strtoll(s, &end, 10);
    return (*end || v < 0) ? 0 : v;
}

Error archive_error(archive* a, const std::string& what) {
    const char* e = archive_error_string(a);
    return Error(what + ": " + (e ? e : "libarchive error"));
}

// Streams a host file into the archive in chunks (kernel modules and
// libraries can be large; never hold them whole).
Status copy_source(archive* a, const Node& n, const std::string& path) {
    auto fd = KEEL_TRY(sys::open(n.source, O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != n.size)
        return Error(n.source + " changed size since it was added to the image as " + path);
    char buf[kChunk];
    uint64_t left = n.size;
    while (left > 0) {
        auto got = KEEL_TRY(sys::read(fd.get(), buf, std::min<uint64_t>(left, sizeof buf)));
        if (got == 0) return Error(n.source + " shrank while being written as " + path);
        if (archive_write_data(a, buf, got) < 0) return archive_error(a, "cannot write " + path);
        left -= got;
    }
    return {};
}

// The kernel opens /dev/console for init's stdin/stdout/stderr before init
// runs (so before anything can mount devtmpfs): without the node in the
// archive, init starts with no fds 0-2. gen_init_cpio adds it the same way.
Status write_console(archive* a, archive_entry* e, bool with_dir, int64_t mtime, uint64_t& ino,
                     const std::string& path) {
    if (with_dir) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, "dev");
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_nlink(e, 2);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_set_ino64(e, static_cast<la_int64_t>(++ino));
        if (archive_write_header(a, e) != ARCHIVE_OK)
            return archive_error(a, "cannot write dev into " + path);
    }
    archive_entry_clear(e);
    archive_entry_set_pathname(e, "dev/console");
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_rdevmajor(e, 5);
    archive_entry_set_rdevminor(e, 1);
    archive_entry_set_nlink(e, 1);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_ino64(e, static_cast<la_int64_t>(++ino));
    if (archive_write_header(a, e) != ARCHIVE_OK)
        return archive_error(a, "cannot write dev/console into " + path);
    return {};
}

// One compressed archive of `tree` appended to `fd`; returns its size. With
// `console`, /dev/console is added when the tree has none.
Result<uint64_t> write_archive(const Tree& tree, int fd, const std::string& path, bool console,
                               Compression compression, Progress& progress) {
    Sink sink(fd, compression == Compression::xz);
    KEEL_TRY_STATUS(sink.open());

    std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
    archive_write_set_format_cpio_newc(a.get());
    int r = ARCHIVE_OK;
    if (compression == Compression::gzip) {
        r = archive_write_add_filter_gzip(a.get());
        // No timestamp in the gzip header: equal trees give equal bytes.
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(a.get(), "gzip", "compression-level", "9");
    } else if (compression == Compression::zstd) {
        r = archive_write_add_filter_zstd(a.get());
        if (r == ARCHIVE_OK)
            r = archive_write_set_filter_option(a.get(), "zstd", "compression-level", "19");
    }
    if (r != ARCHIVE_OK) return archive_error(a.get(), "cannot set up compression for " + path);
    archive_write_set_bytes_in_last_block(a.get(), 1);  // no padding after the trailer
    if (archive_write_open2(a.get(), &sink, nullptr, sink_write, nullptr, nullptr) != ARCHIVE_OK)
        return archive_error(a.get(), "cannot open " + path);

    const int64_t mtime = source_date_epoch();
    const auto& nodes = tree.nodes();
    const bool has_console = !console || nodes.count("/dev/console") > 0;
    uint64_t ino = 0, done = 0, total_bytes = 0;
    for (const auto& [p, n] : nodes)
        total_bytes += n.kind == Node::Kind::file ? n.size : 0;
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    // Sorted paths put every directory before its contents (a parent is a
    // prefix of its children, and a prefix sorts first).
    for (const auto& [p, n] : nodes) {
        archive_entry_clear(e.get());
        archive_entry_set_pathname(e.get(), p == "/" ? "." : p.c_str() + 1);
        archive_entry_set_ino64(e.get(), static_cast<la_int64_t>(++ino));
        archive_entry_set_uid(e.get(), n.uid);
        archive_entry_set_gid(e.get(), n.gid);
        archive_entry_set_mtime(e.get(), mtime, 0);
        archive_entry_set_dev(e.get(), 0);
        archive_entry_set_size(e.get(), 0);  // a symlink's body is its target, added by libarchive
        std::string data;
        switch (n.kind) {
            case Node::Kind::dir:
                archive_entry_set_filetype(e.get(), AE_IFDIR);
                archive_entry_set_nlink(e.get(), 2);
                break;
            case Node::Kind::symlink:
                archive_entry_set_filetype(e.get(), AE_IFLNK);
                archive_entry_set_symlink(e.get(), n.target.c_str());
                archive_entry_set_nlink(e.get(), 1);
                break;
            case Node::Kind::file:
                archive_entry_set_filetype(e.get(), AE_IFREG);
                archive_entry_set_size(e.get(), static_cast<la_int64_t>(n.size));
                archive_entry_set_nlink(e.get(), 1);
                break;
        }
        archive_entry_set_perm(e.get(), n.kind == Node::Kind::symlink ? 0777 : n.mode);
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
            return archive_error(a.get(), "cannot write " + p + " into " + path);
        // Right after "/dev", or after "/" when the tree has no /dev.
        if (!has_console && (p == "/dev" || (p == "/" && !nodes.count("/dev"))))
            KEEL_TRY_STATUS(write_console(a.get(), e.get(), p == "/", mtime, ino, path));
        if (n.kind == Node::Kind::file) {
            if (!n.source.empty()) {
                KEEL_TRY_STATUS(copy_source(a.get(), n, p));
            } else if (!n.data.empty() &&
                       archive_write_data(a.get(), n.data.data(), n.data.size()) < 0) {
                return archive_error(a.get(), "cannot write " + p + " into " + path);
            }
            done += n.size;
            progress.advance(done, total_bytes);
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK)
        return archive_error(a.get(), "cannot finish " + path);
    KEEL_TRY_STATUS(sink.finish());
    return sink.written();
}

Status append_file(int from, uint64_t size, int to) {
    char buf[kChunk];
    for (uint64_t at = 0; at < size;) {
        ssize_t got =
            ::pread(from, buf, std::min<uint64_t>(size - at, sizeof buf), static_cast<off_t>(at));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return errno_error("cannot read back a part of the initramfs");
        KEEL_TRY_STATUS(sys::write_all(to, buf, static_cast<size_t>(got)));
        at += static_cast<uint64_t>(got);
    }
    return {};
}

// The progress of parts written at the same time, as one: bytes done of all
// the parts' bytes. Each part reports through its own Share, from its thread.
class SharedProgress {
  public:
    explicit SharedProgress(Progress& to, size_t parts) : to_(to), done_(parts), total_(parts) {}

    class Share final : public Progress {
      public:
        Share(SharedProgress& all, size_t index) : all_(all), index_(index) {}
        void step(std::string_view) override {}
        void advance(uint64_t done, uint64_t total) override { all_.advance(index_, done, total); }
        void note(std::string_view line) override {
            std::lock_guard lock(all_.mu_);
            all_.to_.note(line);
        }

      private:
        SharedProgress& all_;
        size_t index_;
    };

  private:
    void advance(size_t index, uint64_t done, uint64_t total) {
        std::lock_guard lock(mu_);
        done_[index] = done;
        total_[index] = total;
        uint64_t d = 0, t = 0;
        for (size_t i = 0; i < done_.size(); ++i) {
            d += done_[i];
            t += total_[i];
        }
        to_.advance(d, t);
    }

    Progress& to_;
    std::mutex mu_;
    std::vector<uint64_t> done_, total_;
};

// Each part compressed into an anonymous file of its own, all at once (zstd -19
// is single-threaded: the system's and the kernel modules' archives take about
// the same time), then the parts copied one after the other into `fd`.
Result<std::vector<uint64_t>> write_parts(const std::vector<CpioPart>& parts, int fd,
                                          const std::string& path, Compression compression,
                                          Progress& progress) {
    const size_t n = parts.size();
    std::vector<Fd> files(n);
    std::vector<Result<uint64_t>> sizes(n, Result<uint64_t>(uint64_t{0}));
    for (size_t i = 0; i < n; ++i) {
        if (parts[i].reuse) continue;
        files[i] = Fd(::memfd_create("keel-initramfs-part", MFD_CLOEXEC));
        if (!files[i]) return errno_error("cannot make a memory file for a part of " + path);
    }
    SharedProgress shared(progress, n);
    std::vector<SharedProgress::Share> shares;
    for (size_t i = 0; i < n; ++i)
        shares.emplace_back(shared, i);
    auto compress = [&](size_t i) {
        sizes[i] =
            write_archive(*parts[i].tree, files[i].get(), path, i == 0, compression, shares[i]);
    };
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i)
        if (!parts[i].reuse) threads.emplace_back(compress, i);
    for (auto& t : threads)
        t.join();

    std::vector<uint64_t> out;
    for (size_t i = 0; i < n; ++i) {
        if (parts[i].reuse) {
            KEEL_TRY_STATUS(sys::write_all(fd, parts[i].reuse->data(), parts[i].reuse->size()));
            out.push_back(parts[i].reuse->size());
            continue;
        }
        uint64_t size = KEEL_TRY(std::move(sizes[i]));
        KEEL_TRY_STATUS(append_file(files[i].get(), size, fd));
        out.push_back(size);
    }
    return out;
}

}  // namespace

Result<std::vector<uint64_t>> write_cpio_parts(const std::vector<CpioPart>& parts,
                                               const std::string& path, Compression compression,
                                               Progress& progress) {
    progress.step("writing initramfs " + path);
    // Through a temporary file: a failed write never leaves a truncated image
    // where a previous good one was (nor the good one changed: a part reused
    // from it was read before).
    auto file = KEEL_TRY(sys::AtomicFile::create(path, 0644));
    auto sizes = KEEL_TRY(write_parts(parts, file.fd(), path, compression, progress));
    KEEL_TRY_STATUS(file.commit());
    return sizes;
}

Status write_cpio(const Tree& tree, const std::string& path, Compression compression,
                  Progress& progress) {
    auto sizes = write_cpio_parts({{&tree, {}}}, path, compression, progress);
    if (!sizes) return sizes.error();
    return {};
}

}  // namespace keel::image
