// size_report: where the image's bytes come from, per origin and file class.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "image/writers.h"

namespace keel::image {
namespace {

bool is_kernel_module(const std::string& p) {
    if (!p.starts_with("/usr/lib/modules/") && !p.starts_with("/lib/modules/")) return false;
    return p.ends_with(".ko") || p.ends_with(".ko.xz") || p.ends_with(".ko.zst") ||
           p.ends_with(".ko.gz");
}

bool is_shared_library(const std::string& p) {
    auto name = p.substr(p.rfind('/') + 1);
    return name.ends_with(".so") || name.find(".so.") != std::string::npos;
}

const char* file_class(const std::string& p, const Node& n) {
    if (is_kernel_module(p)) return "kernel modules";
    if (p.starts_with("/etc/")) return "config (/etc)";
    if (is_shared_library(p)) return "shared libraries";
    if (n.mode & 0111) return "executables";
    return "other";
}

std::vector<SizeLine> sorted(const std::map<std::string, SizeLine>& m) {
    std::vector<SizeLine> out;
    for (const auto& [k, v] : m)
        out.push_back(v);
    std::stable_sort(out.begin(), out.end(),
                     [](const SizeLine& a, const SizeLine& b) { return a.bytes > b.bytes; });
    return out;
}

std::string human(uint64_t bytes) {
    char buf[32];
    if (bytes < 1024)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (bytes < 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / (1024.0 * 1024.0));
    return buf;
}

void table(std::string& out, const char* title, const std::vector<SizeLine>& lines) {
    size_t width = 8;
    for (const auto& l : lines)
        width = std::max(width, l.name.size());
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-*s %7s %12s\n", static_cast<int>(width + 2), title, "files",
                  "size");
    out += buf;
    for (const auto& l : lines) {
        std::snprintf(buf, sizeof buf, "  %-*s %7llu %12s\n", static_cast<int>(width),
                      l.name.c_str(), static_cast<unsigned long long>(l.files),
                      human(l.bytes).c_str());
        out += buf;
    }
}

}  // namespace

SizeReport size_report(const Tree& tree) {
    std::map<std::string, SizeLine> origins, classes;
    SizeReport r;
    for (const auto& [p, n] : tree.nodes()) {
        if (n.kind != Node::Kind::file) continue;
        std::string origin = n.origin.empty() ? "(unknown)" : n.origin;
        for (auto* line : {&origins[origin], &classes[file_class(p, n)]}) {
            line->files++;
            line->bytes += n.size;
        }
        origins[origin].name = origin;
        classes[file_class(p, n)].name = file_class(p, n);
        r.total_files++;
        r.total_bytes += n.size;
        if (is_kernel_module(p) || p.starts_with("/usr/lib/modules/")) {
            r.module_files++;
            r.module_bytes += n.size;
        }
    }
    r.by_origin = sorted(origins);
    r.by_class = sorted(classes);
    return r;
}

std::string format_size_report(const SizeReport& report) {
    std::string out;
    table(out, "by origin", report.by_origin);
    table(out, "by file class", report.by_class);
    if (!report.pruned.empty()) table(out, "pruned (left out)", report.pruned);
    char buf[512];
    auto ratio = [](uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; };
    std::snprintf(buf, sizeof buf, "initramfs: %llu files, %s uncompressed",
                  static_cast<unsigned long long>(report.total_files),
                  human(report.total_bytes).c_str());
    out += buf;
    if (report.compressed_bytes) {
        std::snprintf(buf, sizeof buf, ", %s compressed (%.0f%%)",
                      human(report.compressed_bytes).c_str(),
                      ratio(report.compressed_bytes, report.total_bytes));
        out += buf;
    }
    out += "\n";
    const uint64_t system = report.system_compressed_bytes();
    if (system) {
        uint64_t files = report.total_files - report.module_files;
        uint64_t bytes = report.total_bytes - report.module_bytes;
        std::snprintf(buf, sizeof buf,
                      "  system:         %6llu files, %12s uncompressed, %12s compressed\n"
                      "  kernel modules: %6llu files, %12s uncompressed, %12s compressed\n",
                      static_cast<unsigned long long>(files), human(bytes).c_str(),
                      human(system).c_str(), static_cast<unsigned long long>(report.module_files),
                      human(report.module_bytes).c_str(),
                      human(report.modules_compressed_bytes).c_str());
        out += buf;
    }
    if (report.kernel_image_bytes) {
        std::snprintf(buf, sizeof buf, "vmlinuz: %s\n", human(report.kernel_image_bytes).c_str());
        out += buf;
    }
    if (report.compressed_bytes) {
        std::snprintf(buf, sizeof buf, "total: %s (initramfs + vmlinuz)",
                      human(report.compressed_bytes + report.kernel_image_bytes).c_str());
        out += buf;
        if (system) {
            std::snprintf(buf, sizeof buf,
                          "; without the kernel (vmlinuz and modules): %s (%llu bytes)",
                          human(system).c_str(), static_cast<unsigned long long>(system));
            out += buf;
        }
        out += "\n";
    }
    return out;
}

}  // namespace keel::image
