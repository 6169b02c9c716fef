#include "image/command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "base/c_strings.h"
#include "base/fd.h"
#include "base/sys.h"

extern char** environ;

namespace keel::image {
namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::map<std::string, std::string> vars;
    auto add = [&](std::string_view kv) {
        size_t eq = kv.find('=');
        if (eq != std::string_view::npos) vars[std::string(kv.substr(0, eq))] = std::string(kv);
    };
    for (char** e = environ; e && *e; ++e)
        add(*e);
    for (const auto& kv : extra)
        add(kv);
    std::vector<std::string> out;
    for (auto& [k, v] : vars)
        out.push_back(std::move(v));
    return out;
}

std::string describe(const std::vector<std::string>& argv) {
    std::string s;
    for (size_t i = 0; i < argv.size() && i < 4; ++i)
        s += (i ? " " : "") + argv[i];
    if (argv.size() > 4) s += " ...";
    return s;
}

// The last few lines of a tool's stderr: where apt says what went wrong.
std::string tail_lines(std::string_view text, size_t max_lines) {
    while (!text.empty() && text.back() == '\n')
        text.remove_suffix(1);
    size_t pos = text.size();
    for (size_t n = 0; n < max_lines && pos != std::string_view::npos && pos > 0; ++n)
        pos = text.rfind('\n', pos - 1);
    if (pos == std::string_view::npos) pos = 0;
    std::string out(text.substr(pos));
    if (!out.empty() && out[0] == '\n') out.erase(0, 1);
    for (char& c : out)
        if (c == '\n') c = ';';
    return out;
}

}  // namespace

Result<std::string> run_command(const Command& cmd,
                                const std::function<void(std::string_view)>& on_line) {
    if (cmd.argv.empty()) return Error("run_command: empty command");
    auto [out_r, out_w] = KEEL_TRY(sys::pipe());
    int err_fd = ::memfd_create("stderr", MFD_CLOEXEC);
    if (err_fd < 0) return errno_error("memfd_create");
    Fd err(err_fd);

    auto env = merged_environment(cmd.env);
    std::vector<char*> av = c_strings(cmd.argv), ev = c_strings(env);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err.get(), 2);
    if (!cmd.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cmd.cwd.c_str());
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), ev.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Error("cannot run " + cmd.argv[0], rc);
    out_w = Fd();

    std::string out;
    size_t line_start = 0;
    char buf[16384];
    for (;;) {
        auto n = sys::read(out_r.get(), buf, sizeof buf);
        if (!n.ok() || *n == 0) break;
        out.append(buf, *n);
        for (size_t nl; (nl = out.find('\n', line_start)) != std::string::npos; line_start = nl + 1)
            if (on_line) on_line(std::string_view(out).substr(line_start, nl - line_start));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return errno_error("waitpid " + cmd.argv[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return out;

    ::lseek(err.get(), 0, SEEK_SET);
    auto errors = sys::read_all(err.get());
    std::string why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    std::string said = errors.ok() ? tail_lines(*errors, 3) : "";
    return Error(describe(cmd.argv) + " failed (" + why + ")" + (said.empty() ? "" : ": " + said));
}

}  // namespace keel::image
