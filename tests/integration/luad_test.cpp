// The keel luad fork server and its keel-run client, as real processes: clients
// of several users (root, 1000, 65534), hostile ones, floods, limits, and a
// script that scans its own memory for another user's secrets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "integration/harness.h"
#include "integration/script_run.h"
#include "lua/luad/request.h"
#include "support/skip.h"

namespace keel::it {
namespace {

// Why clients of other users cannot be tested here, or "".
std::optional<Missing> other_users_missing() {
    if (::geteuid() != 0) return Missing{"root", "needs root to run a client as another user"};
    for (const char* tool : {"setpriv", "unshare"})
        if (!std::filesystem::exists(std::string("/usr/bin/") + tool))
            return Missing{tool, std::string(tool) + " (util-linux) missing"};
    return std::nullopt;
}

// argv run as `uid` (gid the same; `groups` as setpriv takes them), in / (the tests'
// own directory may be out of that user's reach).
std::vector<std::string> setpriv(uid_t uid, std::vector<std::string> argv,
                                 const std::string& groups = "--clear-groups") {
    std::string id = std::to_string(uid);
    std::vector<std::string> v = {"/usr/bin/env",  "-C",   "/", "/usr/bin/setpriv", "--reuid=" + id,
                                  "--regid=" + id, groups, "--"};
    v.insert(v.end(), argv.begin(), argv.end());
    return v;
}

// The same in a mount namespace where the build directory is an empty directory
// of mode 0700: a checkout under a 0700 home (Debian's default, and /root) looks
// like that to any other user, so the client must need nothing from it.
std::vector<std::string> as_user(uid_t uid, std::vector<std::string> argv,
                                 const std::string& groups = "--clear-groups") {
    std::vector<std::string> v = {"/usr/bin/unshare",
                                  "--mount",
                                  "--propagation",
                                  "private",
                                  "--",
                                  "/bin/sh",
                                  "-c",
                                  "mount -t tmpfs -o mode=0700 keel-0700 \"$0\" && exec \"$@\"",
                                  bin_dir()};
    auto inner = setpriv(uid, std::move(argv), groups);
    v.insert(v.end(), inner.begin(), inner.end());
    return v;
}

// A connection to the unix socket at `path`.
Fd connect_to(const std::string& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    return fd;
}

// Connections to `path` made by a process of `uid`: the server sees that uid.
std::vector<Fd> connect_as(uid_t uid, const std::string& path, int count) {
    std::vector<Fd> out;
    if (uid == ::geteuid()) {
        for (int i = 0; i < count; ++i)
            out.push_back(connect_to(path));
        return out;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
        throw std::runtime_error("socketpair: " + std::string(std::strerror(errno)));
    Fd mine(pair[0]), theirs(pair[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {  // system calls only: the test process has threads
        if (::syscall(SYS_setgroups, 0, nullptr) < 0 ||
            ::syscall(SYS_setresgid, uid, uid, uid) < 0 ||
            ::syscall(SYS_setresuid, uid, uid, uid) < 0)
            _exit(1);
        for (int i = 0; i < count; ++i) {
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
            if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) _exit(2);
            char byte = 0;
            iovec iov{&byte, 1};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr* h = CMSG_FIRSTHDR(&msg);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
            if (::sendmsg(theirs.get(), &msg, 0) != 1) _exit(3);
            ::close(fd);
        }
        _exit(0);
    }
    theirs.reset();
    for (int i = 0; i < count; ++i) {
        char byte;
        iovec iov{&byte, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(mine.get(), &msg, MSG_CMSG_CLOEXEC) != 1) break;
        int fd;
        std::memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
        out.emplace_back(fd);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.size() != static_cast<size_t>(count))
        throw std::runtime_error("connect_as " + std::to_string(uid) + " failed, status " +
                                 std::to_string(status));
    return out;
}

// Everything `fd` receives until the peer closes or `timeout` passes ("<timeout>").
std::string reply_on(int fd, Ms timeout = slow(10s)) {
    std::string out;
    auto deadline = Clock::now() + timeout;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int left =
            static_cast<int>(std::chrono::duration_cast<Ms>(deadline - Clock::now()).count());
        if (left <= 0 || ::poll(&p, 1, left) != 1) return out + "<timeout>";
        char buf[512];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

std::string hex(const std::string& s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// Sends `data` with `fds` as SCM_RIGHTS; false unless all of it went.
bool send_with_fds(int sock, std::string_view data, std::vector<int> fds = {}) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
    }
    return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

class Luad {
  public:
    explicit Luad(std::vector<std::string> extra = {}, std::vector<std::string> env = {}) {
        ::chmod(dir_.path().c_str(), 0755);  // scripts here are read by other users too
        socket_ = dir_.file("lua.sock");
        // The client, where other users can run it (the build directory may be
        // out of their reach).
        keel_run_ = dir_.file("keel-run");
        std::filesystem::copy_file(bin_dir() + "/keel-run", keel_run_);
        ::chmod(keel_run_.c_str(), 0755);
        std::vector<std::string> argv;
        if (!env.empty()) {
            argv.push_back("/usr/bin/env");
            argv.insert(argv.end(), env.begin(), env.end());
        }
        argv.insert(argv.end(), {KEEL_BIN, "luad", "--socket", socket_, "--ready-fd", "3"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_ = spawn_ready(argv);
    }
    ~Luad() {
        if (proc_ && proc_->running()) {
            proc_->signal(SIGTERM);
            proc_->wait_exit(slow(10s));
        }
    }
    const std::string& socket() const { return socket_; }
    const std::string& keel_run() const { return keel_run_; }
    std::string file(const std::string& name) const { return dir_.file(name); }
    Process& proc() { return *proc_; }
    // What the server has open, by kind ("socket", "anon_inode:[eventpoll]",
    // "/dev/null"...), sorted: numbers and inodes change as children come and go.
    std::vector<std::string> fd_kinds() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (auto& e : std::filesystem::directory_iterator(
                 "/proc/" + std::to_string(proc_->pid()) + "/fd", ec)) {
            std::string target = std::filesystem::read_symlink(e.path(), ec).string();
            auto inode = target.find(":[");
            if (inode != std::string::npos && target.find("anon_inode") == std::string::npos)
                target.resize(inode);
            out.push_back(target);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    // What the server holds with no client: its socket and its waiting child's (at
    // most 10 s for the last client's connection to go).
    std::vector<std::string> settled_fd_kinds() const {
        std::vector<std::string> now = fd_kinds();
        for (int i = 0; i < 500 && std::count(now.begin(), now.end(), "socket") != 2; ++i) {
            std::this_thread::sleep_for(20ms);
            now = fd_kinds();
        }
        return now;
    }
    // Waits (at most 10 s) until the server holds exactly `want`; returns what it holds.
    std::vector<std::string> wait_fd_kinds(const std::vector<std::string>& want) const {
        std::vector<std::string> now = fd_kinds();
        for (int i = 0; i < 500 && now != want; ++i) {
            std::this_thread::sleep_for(20ms);
            now = fd_kinds();
        }
        return now;
    }
    // The server's children running a script for `uid` (waiting children are root's).
    int children_of(uid_t uid) const { return static_cast<int>(children(uid).size()); }
    std::vector<pid_t> children(uid_t uid) const {
        std::vector<pid_t> out;
        std::error_code ec;
        for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
            std::string pid = e.path().filename();
            if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream f(e.path() / "status");
            std::string line;
            long ppid = -1, u = -1;
            while (std::getline(f, line)) {
                if (line.rfind("PPid:", 0) == 0) ppid = std::stol(line.substr(5));
                if (line.rfind("Uid:", 0) == 0) u = std::stol(line.substr(4));
            }
            if (ppid == proc_->pid() && u == static_cast<long>(uid)) out.push_back(std::stoi(pid));
        }
        return out;
    }
    std::vector<std::string> client(const std::string& script,
                                    std::vector<std::string> args = {}) const {
        std::vector<std::string> v = {keel_run_, "--socket", socket_, script};
        v.insert(v.end(), args.begin(), args.end());
        return v;
    }

  private:
    TempDir dir_;
    std::string socket_, keel_run_;
    std::unique_ptr<Process> proc_;
};

// A client that is not root: another user when the tests run as root, else the
// tests' own (a server that is not root serves only its own user).
std::vector<std::string> user_client(std::vector<std::string> argv) {
    return ::geteuid() == 0 ? as_user(65534, std::move(argv)) : argv;
}

TEST(LuaFork, StdioExitCodeEnvironmentCwdAndNothingElse) {
    Luad d;
    write_script(d.file("io.lua"), R"(
        local sys = require "keel.sys"
        local extra = {}
        for fd = 0, 1023 do
            local target = sys.readlink("/proc/self/fd/" .. fd)
            if target and fd > 2 then extra[#extra + 1] = fd .. "=" .. target end
        end
        print("extra fds:", #extra, table.concat(extra, " "))
        print("cwd:", sys.getcwd(), "FOO:", os.getenv("FOO"), "args:", ...)
        print("stdin:", io.read("a"))
        io.stderr:write("on stderr\n")
        print("sid:", sys.getsid() == sys.getpid())
        local mask = sys.umask(0) sys.umask(mask)
        print("umask:", string.format("%03o", mask))
        os.exit(7)
    )");
    auto r = run({"/bin/sh", "-c",
                  "cd " + d.file("") + " && umask 027 && FOO=bar exec " + d.keel_run() +
                      " --socket " + d.socket() + " io.lua a 'b c'"},
                 std::string("piped in"));
    EXPECT_EQ(r.st.code, 7) << r.describe();
    EXPECT_NE(r.out.find("extra fds:\t0\t\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cwd:\t" + d.file("").substr(0, d.file("").size() - 1) +
                         "\tFOO:\tbar\targs:\ta\tb c\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("stdin:\tpiped in\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sid:\ttrue\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("umask:\t027\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "on stderr\n");
}

TEST(LuaFork, ErrorsMissingScriptsAndExitStatus) {
    Luad d;
    write_script(d.file("err.lua"), "error('script failed')\n");
    auto r = run(d.client(d.file("err.lua")));
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("keel-run: " + d.file("err.lua") + ":1: script failed"), std::string::npos)
        << r.err;
    r = run(d.client(d.file("nope.lua")));
    EXPECT_EQ(r.st.code, 100) << r.describe();
    EXPECT_NE(r.err.find("cannot open " + d.file("nope.lua")), std::string::npos) << r.err;
    write_script(d.file("ok.lua"), "print('fine')\n");
    r = run(d.client(d.file("ok.lua")));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_EQ(r.out, "fine\n");
    // Killed by a signal: the client dies of the same one.
    write_script(d.file("kill.lua"), "local s = require 'keel.sys' s.kill(s.getpid(), 'KILL')\n");
    r = run(d.client(d.file("kill.lua")));
    EXPECT_EQ(r.st.signal, SIGKILL) << r.describe();
    // No server: a clear message and 111.
    r = run({d.keel_run(), "--socket", d.file("absent.sock"), d.file("ok.lua")});
    EXPECT_EQ(r.st.code, 111) << r.describe();
    EXPECT_NE(r.err.find("cannot connect"), std::string::npos);
    r = run({d.keel_run()});
    EXPECT_EQ(r.st.code, 100);
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, SignalsAreForwardedToTheScript) {
    Luad d;
    write_script(d.file("sleep.lua"),
                 "print('ready') io.stdout:flush() require('keel').sleep(30)\n");
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        Process p(Process::Spec{d.client(d.file("sleep.lua"))});
        ASSERT_TRUE(p.wait_output("ready\n", slow(10s))) << p.err();
        p.signal(sig);
        auto st = p.wait_exit(slow(10s));
        ASSERT_TRUE(st);
        EXPECT_EQ(st->signal, sig) << st->describe();
    }
    write_script(d.file("trap.lua"), R"(
        local keel = require "keel"
        keel.loop.signal("TERM", function() print("caught TERM") os.exit(3) end)
        print("ready") io.stdout:flush()
        keel.sleep(30)
    )");
    Process p(Process::Spec{d.client(d.file("trap.lua"))});
    ASSERT_TRUE(p.wait_output("ready\n", slow(10s))) << p.err();
    p.signal(SIGTERM);
    auto st = p.wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->code, 3) << st->describe();
    EXPECT_NE(p.out().find("caught TERM"), std::string::npos);
}

TEST(LuaFork, TheChildIsTheClientsUser) {
    KEEL_SKIP_IF_MISSING(other_users_missing());
    Luad d;
    ::chmod(d.file("").c_str(), 0777);
    write_script(d.file("who.lua"), R"(
        local sys = require "keel.sys"
        local g = sys.getgroups()
        table.sort(g)
        print(sys.getuid(), sys.geteuid(), sys.getgid(), sys.getegid(), table.concat(g, ","))
        assert(sys.writefile(arg[1], "mine"))
        local ok, err = sys.writefile("/root/keel-lua-should-not-exist", "x")
        print(ok, err)
    )");
    auto r = run(as_user(65534, d.client(d.file("who.lua"), {d.file("made-by-nobody")}),
                         "--groups=100,65534"));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_NE(r.out.find("65534\t65534\t65534\t65534\t100,65534\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nil\t/root/keel-lua-should-not-exist: Permission denied"),
              std::string::npos)
        << r.out;
    struct stat st {};
    ASSERT_EQ(::stat(d.file("made-by-nobody").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
    // And root stays root.
    r = run(d.client(d.file("who.lua"), {d.file("made-by-root")}));
    EXPECT_NE(r.out.find("0\t0\t0\t0\t"), std::string::npos) << r.describe();
}

// What /proc/self/status and /proc/self/limits say inside the script.
const char kStatusScript[] = R"lua(
    local sys = require "keel.sys"
    local status = assert(sys.readfile("/proc/self/status"))
    for _, key in ipairs({"Uid", "Gid", "NoNewPrivs", "CapInh", "CapPrm", "CapEff", "CapBnd",
                          "CapAmb"}) do
        print(key .. ":" .. status:match("\n" .. key .. ":%s*([^\n]*)"):gsub("%s+", " "))
    end
    local limits = assert(sys.readfile("/proc/self/limits"))
    print("nproc:" .. limits:match("Max processes%s+(%S+)"))
    print("args:" .. table.concat(arg, " "), "USER=" .. tostring(os.getenv("USER")))
)lua";

TEST(LuaFork, UserScriptsHaveNoPrivilegesAndTheRequestCannotClaimAUid) {
    KEEL_SKIP_IF_MISSING(other_users_missing());
    Luad d;
    write_script(d.file("status.lua"), kStatusScript);
    // Everything the request carries says root: the environment, the arguments.
    auto claims = as_user(1000, {"/usr/bin/env", "USER=root", "LOGNAME=root", "UID=0", "EUID=0",
                                 "SUDO_UID=0", "HOME=/root", d.keel_run(), "--socket", d.socket(),
                                 d.file("status.lua"), "--uid=0", "0"});
    auto r = run(claims);
    ASSERT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_NE(r.out.find("Uid:1000 1000 1000 1000\n"), std::string::npos) << r.out;  // r, e, s, fs
    EXPECT_NE(r.out.find("Gid:1000 1000 1000 1000\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("NoNewPrivs:1\n"), std::string::npos) << r.out;
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_NE(r.out.find(std::string(cap) + ":0000000000000000\n"), std::string::npos)
            << cap << "\n"
            << r.out;
    EXPECT_NE(r.out.find("nproc:1024\n"), std::string::npos) << "default RLIMIT_NPROC\n" << r.out;
    EXPECT_NE(r.out.find("args:--uid=0 0\tUSER=root\n"), std::string::npos) << r.out;
    // A raw request from uid 1000 fares no better.
    auto conns = connect_as(1000, d.socket(), 1);
    luad::RunRequest req;
    req.cwd = "/";
    req.script = d.file("status.lua");
    req.args = {"uid=0"};
    req.env = {"USER=root", "UID=0"};
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    Fd out_r(out[0]), out_w(out[1]);
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(send_with_fds(conns[0].get(), luad::encode_request(req),
                              {null.get(), out_w.get(), null.get()}));
    out_w.reset();
    EXPECT_EQ(reply_on(conns[0].get()), "exit 0\n");
    std::string printed = reply_on(out_r.get());
    EXPECT_NE(printed.find("Uid:1000 1000 1000 1000\n"), std::string::npos) << printed;
    EXPECT_NE(printed.find("args:uid=0\tUSER=root\n"), std::string::npos) << printed;
    // Root keeps root's powers: no_new_privs and capabilities are for users.
    r = run(d.client(d.file("status.lua")));
    ASSERT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_NE(r.out.find("Uid:0 0 0 0\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("NoNewPrivs:0\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("CapEff:0000000000000000\n"), std::string::npos) << r.out;
}

TEST(LuaFork, EveryChildGetsFreshSeeds) {
    Luad d;
    write_script(d.file("seed.lua"), R"(
        local t = {}
        for i = 1, 64 do t["key" .. i] = i end
        local order = {}
        for k in pairs(t) do order[#order + 1] = k end
        print(table.concat(order, ","), math.random(1 << 40))
    )");
    std::set<std::string> orders, randoms;
    for (int i = 0; i < 4; ++i) {
        auto r = run(d.client(d.file("seed.lua")));
        ASSERT_TRUE(r.st.exited_ok()) << r.describe();
        auto tab = r.out.find('\t');
        orders.insert(r.out.substr(0, tab));
        randoms.insert(r.out.substr(tab));
    }
    // Same seeds would give the same table order and the same random numbers every time.
    EXPECT_GT(orders.size(), 1u) << "string hash seed shared between children";
    EXPECT_EQ(randoms.size(), 4u) << "math.random seed shared between children";
}

TEST(LuaFork, ServerEnvironmentIsIgnoredAndPreloadsWork) {
    TempDir mods;
    ::chmod(mods.path().c_str(), 0755);
    write_script(mods.file("greeting.lua"), "return {text = 'preloaded ' .. (...)}\n");
    Luad d({"--lua-path", mods.path() + "/?.lua", "--preload", "greeting"},
           {"LUA_INIT=print('INJECTED')", "LUA_PATH=/nonexistent/?.lua"});
    std::filesystem::remove(mods.file("greeting.lua"));  // only the compiled copy is left
    // The loader takes its bytecode from the server's list, not from an upvalue a
    // script could swap for a binary chunk of its own.
    write_script(d.file("use.lua"), R"(
        local forged = string.dump(function() return {text = "forged"} end)
        for i = 1, 3 do debug.setupvalue(package.preload.greeting, i, forged) end
        print(require('greeting').text)
    )");
    auto r = run(d.client(d.file("use.lua")));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_EQ(r.out, "preloaded greeting\n");
    // A module that does not exist stops the server at start with a clear error.
    auto bad = run({KEEL_BIN, "luad", "--socket", d.file("x.sock"), "--preload", "no.such.module"});
    EXPECT_EQ(bad.st.code, 100);
    EXPECT_NE(bad.err.find("cannot preload module 'no.such.module'"), std::string::npos) << bad.err;
}

// The isolation the fork server exists for: a user's script that reads its own
// process's memory finds nothing of root's requests, finished or running.
TEST(LuaFork, NoOtherClientsDataInAChild) {
    KEEL_SKIP_IF_MISSING(other_users_missing());
    if (kSanitized)
        KEEL_SKIP("memory-scan-under-asan",
                  "ASan maps terabytes of shadow memory and checks every read: no scan of "
                  "every readable mapping can run under it");
    // The scanning module, where only root can change it (c_module_dirs).
    TempDir mods;
    ::chmod(mods.path().c_str(), 0755);
    std::filesystem::copy_file(MEMSCAN_MODULE, mods.file("memscan.so"));
    ::chmod(mods.file("memscan.so").c_str(), 0644);
    Luad d({"--c-module-dir", mods.path()});
    const std::string arg_secret = "keel-secret-argv-" + std::to_string(::getpid()) + "-zq";
    const std::string env_secret = "keel-secret-env-" + std::to_string(::getpid()) + "-zq";
    write_script(d.file("root.lua"), R"(
        print("root has " .. arg[1] .. " " .. os.getenv("KEEL_SECRET")) io.stdout:flush()
        if arg[2] == "hold" then require("keel").sleep(60) end
    )");
    auto root_client = [&](const std::string& mode) {
        return std::vector<std::string>{
            "/usr/bin/env", "KEEL_SECRET=" + env_secret, d.keel_run(), "--socket",
            d.socket(),     d.file("root.lua"),          arg_secret,   mode};
    };
    // Before: a root request that came and went.
    auto before = run(root_client("done"));
    ASSERT_TRUE(before.st.exited_ok()) << before.describe();
    ASSERT_EQ(before.out, "root has " + arg_secret + " " + env_secret + "\n");
    // While: one running, holding its secrets.
    Process holding(Process::Spec{root_client("hold")});
    ASSERT_TRUE(holding.wait_output("root has", slow(10s))) << holding.err();
    write_script(d.file("scan.lua"), R"(
        package.cpath = arg[1] .. "/?.so"
        local memscan = require "memscan"
        local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
        -- The scan must find what this script put in memory itself...
        local marker = "keel-marker-" .. tostring(math.random(1 << 40)) .. "-zq"
        local found, mappings, bytes = memscan.count(hex(marker))
        print("marker", found, mappings, bytes)
        -- ...and its own request's arguments...
        print("own argument", (memscan.count(hex(arg[4]))))
        -- ...but never root's secrets (passed here hex-encoded).
        print("argv secret", (memscan.count(arg[2])))
        print("env secret", (memscan.count(arg[3])))
    )");
    for (int round = 0; round < 3; ++round) {
        auto r = run(as_user(1000, d.client(d.file("scan.lua"), {mods.path(), hex(arg_secret),
                                                                 hex(env_secret), "own-zq"})));
        ASSERT_TRUE(r.st.exited_ok()) << r.describe();
        int marker = -1, mappings = 0;
        long long bytes = 0;
        auto at = r.out.find("marker\t");
        ASSERT_NE(at, std::string::npos) << r.out;
        std::sscanf(r.out.c_str() + at, "marker\t%d\t%d\t%lld", &marker, &mappings, &bytes);
        EXPECT_GE(marker, 1) << "the scan does not see the script's own memory\n" << r.out;
        EXPECT_GT(mappings, 10) << r.out;
        EXPECT_EQ(r.out.find("own argument\t0\n"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("argv secret\t0\n"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("env secret\t0\n"), std::string::npos) << r.out;
    }
    holding.signal(SIGTERM);
    holding.wait_exit(slow(10s));
}

TEST(LuaFork, BinaryChunksAndUntrustedCModulesAreRefused) {
    TempDir mods;  // allowed, and only root can change it
    ::chmod(mods.path().c_str(), 0755);
    std::filesystem::copy_file(MEMSCAN_MODULE, mods.file("memscan.so"));
    ::chmod(mods.file("memscan.so").c_str(), 0644);
    Luad d({"--c-module-dir", mods.path()});
    ::chmod(d.file("").c_str(), 0777);
    std::filesystem::copy_file(MEMSCAN_MODULE, d.file("memscan.so"));  // not allowed
    ::chmod(d.file("memscan.so").c_str(), 0644);
    write_script(d.file("bin.lua"), R"(
        local dir, mods = arg[1], arg[2]
        local chunk = string.dump(function() return "ran binary" end)
        print("load", load(chunk))
        print("load b", load(chunk, "=x", "b"))
        print("load text", load("return 'text ok'")())
        local f = io.open(dir .. "/chunk.luac", "wb") f:write(chunk) f:close()
        print("loadfile", loadfile(dir .. "/chunk.luac"))
        print("dofile", pcall(dofile, dir .. "/chunk.luac"))
        package.path = dir .. "/?.luac"
        print("require", pcall(require, "chunk"))
        print("loadlib", package.loadlib(dir .. "/memscan.so", "luaopen_memscan"))
        package.cpath = dir .. "/?.so"
        print("require C", pcall(require, "memscan"))
        package.cpath = mods .. "/?.so"
        print("allowed C", type(require("memscan").count))
    )");
    auto r = run(d.client(d.file("bin.lua"), {d.file(""), mods.path()}));
    ASSERT_TRUE(r.st.exited_ok()) << r.describe();
    auto has = [&](const std::string& s) { return r.out.find(s) != std::string::npos; };
    EXPECT_TRUE(has("load\tnil\tattempt to load a binary chunk (mode is 't')\n")) << r.out;
    EXPECT_TRUE(has("load b\tnil\tbinary chunks are not allowed")) << r.out;
    EXPECT_TRUE(has("load text\ttext ok\n")) << r.out;
    EXPECT_TRUE(has("loadfile\tnil\t")) << r.out;
    EXPECT_TRUE(has("dofile\tfalse\t")) << r.out;
    EXPECT_TRUE(has("require\tfalse\terror loading module 'chunk'")) << r.out;
    EXPECT_TRUE(has("loadlib\tnil\t")) << r.out;
    EXPECT_TRUE(has("is not in a directory allowed for C modules")) << r.out;
    EXPECT_TRUE(has("require C\tfalse\terror loading module 'memscan'")) << r.out;
    EXPECT_TRUE(has("allowed C\tfunction\n")) << r.out;
    // A binary script, or LUA_INIT naming one, does not run either.
    r = run(d.client(d.file("chunk.luac")));
    EXPECT_EQ(r.st.code, 100) << r.describe();
    EXPECT_NE(r.err.find("attempt to load a binary chunk"), std::string::npos) << r.err;
    write_script(d.file("ok.lua"), "print('ok')\n");
    r = run({"/usr/bin/env", "LUA_INIT=@" + d.file("chunk.luac"), d.keel_run(), "--socket",
             d.socket(), d.file("ok.lua")});
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("attempt to load a binary chunk"), std::string::npos) << r.err;
    // A module in an allowed directory that a user owns is refused too.
    ::chown(mods.file("memscan.so").c_str(), 65534, 65534);
    if (::geteuid() == 0) {
        r = run(d.client(d.file("bin.lua"), {d.file(""), mods.path()}));
        EXPECT_NE(r.err.find("memscan.so is owned by uid 65534, not root"), std::string::npos)
            << r.describe();
    }
    // The configuration may allow binary chunks.
    Luad open({"--allow-binary"});
    write_script(open.file("bin.lua"), "print(load(string.dump(function() return 'ran' end))())\n");
    r = run(open.client(open.file("bin.lua")));
    EXPECT_EQ(r.out, "ran\n") << r.describe();
}

TEST(LuaFork, LimitsStopScriptsWithAClearMessage) {
    Luad cpu({"--cpu", "1", "--wall", "0"});
    write_script(cpu.file("spin.lua"), "while true do end\n");
    // CPU: SIGXCPU (or SIGKILL a second later); the client exits 128 + the signal.
    auto r = run(user_client(cpu.client(cpu.file("spin.lua"))), std::nullopt, slow(30s));
    EXPECT_TRUE(r.st.code == 128 + SIGXCPU || r.st.code == 128 + SIGKILL) << r.describe();
    EXPECT_NE(r.err.find("keel-run: the script was stopped at its CPU time limit of 1 s"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(cpu.proc().running());
    // Wall clock: killed, and the client exits 124 as timeout(1) does.
    Luad d({"--wall", "1s"});
    write_script(d.file("sleep.lua"), "require('keel').sleep(tonumber(arg[1])) print('slept')\n");
    auto started = Clock::now();
    r = run(user_client(d.client(d.file("sleep.lua"), {"30"})), std::nullopt, slow(30s));
    EXPECT_EQ(r.st.code, 124) << r.describe();
    EXPECT_LT(Clock::now() - started, slow(10s));
    EXPECT_NE(r.err.find("keel-run: the script was stopped at its wall-clock limit of 1 s"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.out, "");
    // Root's scripts are not limited unless root_limits says so.
    if (::geteuid() == 0) {
        r = run(d.client(d.file("sleep.lua"), {"1.5"}));
        EXPECT_EQ(r.out, "slept\n") << r.describe();
    }
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, AddressSpaceLimitStopsAMemoryHog) {
    if (kSanitized)
        KEEL_SKIP("rlimit-as-under-asan",
                  "ASan maps terabytes of shadow memory: no RLIMIT_AS can apply to its processes");
    Luad m({"--address-space", "512M"});
    write_script(m.file("hog.lua"),
                 "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end\n");
    auto r = run(user_client(m.client(m.file("hog.lua"))), std::nullopt, slow(60s));
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("not enough memory"), std::string::npos) << r.err;
    EXPECT_TRUE(m.proc().running());
}

TEST(LuaFork, ForkBombIsContainedForUsers) {
    KEEL_SKIP_IF_MISSING(other_users_missing());
    Luad d({"--processes", "8"});
    write_script(d.file("bomb.lua"), R"(
        local sys = require "keel.sys"
        local procs, err = {}
        for i = 1, 100 do
            local p, e = sys.spawn({"/bin/sleep", "5"})
            if not p then err = e break end
            procs[#procs + 1] = p
        end
        print(#procs, err)
        for _, p in ipairs(procs) do p:kill("KILL") p:wait() end
    )");
    auto r = run(as_user(65534, d.client(d.file("bomb.lua"))));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    int started = std::atoi(r.out.c_str());
    EXPECT_LT(started, 8) << r.out;
    EXPECT_NE(r.out.find("Resource temporarily unavailable"), std::string::npos) << r.out;
}

// One user floods the server with busy scripts and idle connections; the others
// are served at once, and the flood is cut at its limits.
TEST(LuaFork, OneUsersFloodDoesNotStarveTheOthers) {
    KEEL_SKIP_IF_MISSING(other_users_missing());
    const int per_user = 3, pending_per_user = 4;
    Luad d({"--max-children-per-user", std::to_string(per_user), "--max-pending-per-user",
            std::to_string(pending_per_user), "--wall", "3s", "--request-timeout", "5s"});
    write_script(d.file("spin.lua"), "while true do end\n");
    write_script(d.file("hi.lua"), "print('hi')\n");
    // uid 1000: more busy scripts than its share...
    std::vector<std::unique_ptr<Process>> spinners;
    for (int i = 0; i < per_user + 2; ++i)
        spinners.push_back(
            std::make_unique<Process>(Process::Spec{as_user(1000, d.client(d.file("spin.lua")))}));
    // Each has connected (and sent its request) once keel-run holds a socket.
    auto connected = [&](const Process& p) {
        std::string fds = "/proc/" + std::to_string(p.pid()) + "/fd";
        std::error_code ec;
        if (std::filesystem::read_symlink("/proc/" + std::to_string(p.pid()) + "/exe", ec) !=
            d.keel_run())
            return false;
        for (auto& e : std::filesystem::directory_iterator(fds, ec))
            if (std::filesystem::read_symlink(e.path(), ec).string().rfind("socket:", 0) == 0)
                return true;
        return false;
    };
    auto deadline = Clock::now() + slow(10s);
    while (Clock::now() < deadline &&
           (d.children_of(1000) < per_user ||
            !std::all_of(spinners.begin(), spinners.end(), [&](auto& p) { return connected(*p); })))
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(d.children_of(1000), per_user);
    // ...and connections that say nothing (held for the 5 s request timeout): two fit
    // its pending share (two scripts wait already), four are refused at once.
    auto idle = connect_as(1000, d.socket(), 6);
    // Root and another user are still served at once.
    for (uid_t uid : {0u, 65534u}) {
        std::vector<long> ms;
        for (int i = 0; i < 7; ++i) {
            auto t0 = Clock::now();
            auto argv = d.client(d.file("hi.lua"));
            auto r = run(uid == 0 ? argv : setpriv(uid, argv));
            ms.push_back(std::chrono::duration_cast<Ms>(Clock::now() - t0).count());
            EXPECT_EQ(r.out, "hi\n") << r.describe();
        }
        std::sort(ms.begin(), ms.end());
        std::printf("uid %u served in %ld ms (median of 7: %ld-%ld) while uid 1000 floods\n", uid,
                    ms[3], ms[0], ms[6]);
        EXPECT_LT(ms[3], slow(100ms).count()) << "uid " << uid << ": median of 7 runs, " << ms[0]
                                              << "-" << ms[6] << " ms, while uid 1000 floods";
    }
    EXPECT_LE(d.children_of(1000), per_user);
    // The idle connections: refused at once, or cut off after the request timeout.
    int refused = 0, timed_out = 0;
    for (auto& c : idle) {
        std::string reply = reply_on(c.get());
        if (reply ==
            "error 111 uid 1000 already has 4 connections waiting (max_pending_per_user)\n")
            ++refused;
        else if (reply == "error 100 no request within 5000 ms\n")
            ++timed_out;
        else
            ADD_FAILURE() << reply;
    }
    EXPECT_EQ(refused, 4);
    EXPECT_EQ(timed_out, 2);
    // ...and every busy script at the wall-clock limit, each with a clear message.
    for (auto& s : spinners) {
        auto st = s->wait_exit(slow(30s));
        ASSERT_TRUE(st);
        EXPECT_EQ(st->code, 124) << st->describe() << s->err();
        EXPECT_NE(s->err().find("wall-clock limit of 3 s"), std::string::npos) << s->err();
    }
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, HostileClientsNeitherKillTheServerNorLeakFds) {
    Luad d({"--request-timeout", "300ms", "--max-request", "64K"});
    write_script(d.file("ok.lua"), "print('still serving')\n");
    auto ok = run(d.client(d.file("ok.lua")));
    ASSERT_EQ(ok.out, "still serving\n") << ok.describe();
    auto fds_before = d.settled_fd_kinds();
    luad::RunRequest req;
    req.cwd = "/";
    req.script = d.file("ok.lua");
    std::string good = luad::encode_request(req);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    Fd null_owned(null);
    auto connect = [&] { return connect_to(d.socket()); };
    auto send = [](int fd, std::string_view data, std::vector<int> fds = {}) {
        return send_with_fds(fd, data, std::move(fds));
    };
    auto expect_refused = [&](int fd, const std::string& what) {
        std::string reply = reply_on(fd);
        EXPECT_EQ(reply.rfind("error 100 ", 0), 0u) << what << ": " << reply;
    };
    {  // garbage
        Fd c = connect();
        send(c.get(), "GET / HTTP/1.0\r\n\r\n", {null, null, null});
        expect_refused(c.get(), "garbage");
    }
    {  // an absurd length
        Fd c = connect();
        send(c.get(), std::string("KEELRUN1\xff\xff\xff\x7f", 12), {null, null, null});
        expect_refused(c.get(), "huge length");
    }
    {  // a valid request without fds
        Fd c = connect();
        send(c.get(), good);
        expect_refused(c.get(), "no fds");
    }
    {  // too many fds: four (or far more) instead of three
        Fd c = connect();
        send(c.get(), good, {null, null, null, null});
        expect_refused(c.get(), "four fds");
        Fd c2 = connect();
        send(c2.get(), good, std::vector<int>(200, null));
        expect_refused(c2.get(), "200 fds");
    }
    {  // fds twice
        Fd c = connect();
        send(c.get(), good.substr(0, 5), {null, null, null});
        send(c.get(), good.substr(5), {null, null, null});
        expect_refused(c.get(), "fds twice");
    }
    {  // half a request, then silence: the timeout answers
        Fd c = connect();
        send(c.get(), good.substr(0, 20), {null, null, null});
        std::string reply = reply_on(c.get());
        EXPECT_NE(reply.find("error 100 incomplete request"), std::string::npos) << reply;
    }
    {  // nothing at all: the timeout answers too
        Fd c = connect();
        std::string reply = reply_on(c.get());
        EXPECT_NE(reply.find("error 100 no request within 300 ms"), std::string::npos) << reply;
    }
    {  // half a request, then gone
        Fd c = connect();
        send(c.get(), good.substr(0, 20), {null, null, null});
    }
    for (int i = 0; i < 20; ++i)  // connect and leave at once
        connect();
    // A request whose script does not exist, sent raw.
    {
        luad::RunRequest missing = req;
        missing.script = d.file("missing.lua");
        Fd c = connect();
        send(c.get(), luad::encode_request(missing), {null, null, null});
        EXPECT_EQ(reply_on(c.get()), "exit 100\n");
    }
    ok = run(d.client(d.file("ok.lua")));
    EXPECT_EQ(ok.out, "still serving\n") << ok.describe();
    ASSERT_TRUE(d.proc().running());
    // Everything the hostile clients sent was closed again: the same kinds of fds
    // as before, once the children are reaped.
    EXPECT_EQ(d.wait_fd_kinds(fds_before), fds_before);
}

TEST(LuaFork, AWaitingChildThatDiesIsReplaced) {
    Luad d;
    write_script(d.file("ok.lua"), "print('ok')\n");
    for (int round = 0; round < 3; ++round) {
        auto waiting = d.children(::geteuid());
        ASSERT_EQ(waiting.size(), 1u) << "one child waits for the next client";
        ::kill(waiting[0], SIGKILL);
        auto deadline = Clock::now() + slow(10s);
        while (d.children(::geteuid()) == waiting && Clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        auto r = run(d.client(d.file("ok.lua")));
        EXPECT_EQ(r.out, "ok\n") << r.describe();
        while (d.children(::geteuid()).size() != 1 && Clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, AClientThatLeavesHangsUpItsScript) {
    Luad d;
    write_script(d.file("wait.lua"), R"(
        local keel = require "keel"
        keel.loop.signal("HUP", function() print("hung up") io.stdout:flush() os.exit(0) end)
        print("started") io.stdout:flush()
        keel.sleep(30)
    )");
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    Fd out_r(out[0]), out_w(out[1]);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    Fd null_owned(null);
    luad::RunRequest req;
    req.cwd = "/";
    req.script = d.file("wait.lua");
    {
        Fd c = connect_to(d.socket());
        ASSERT_TRUE(send_with_fds(c.get(), luad::encode_request(req), {null, out_w.get(), null}));
        out_w.reset();
        char buf[64];
        pollfd p{out_r.get(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, static_cast<int>(slow(10s).count())), 1);
        ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        ASSERT_GT(n, 0);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "started\n");
    }  // the client goes away
    std::string rest;
    for (;;) {
        pollfd p{out_r.get(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, static_cast<int>(slow(10s).count())), 1) << "script still running";
        char buf[64];
        ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        if (n <= 0) break;
        rest.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(rest, "hung up\n");
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, TwoHundredConcurrentClientsAllComplete) {
    Luad d({"--max-children", "16"});
    write_script(d.file("n.lua"), "require('keel').sleep(0.01) print('n=' .. arg[1])\n");
    const int n = scaled(200, 2);
    std::vector<std::unique_ptr<Process>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(std::make_unique<Process>(
            Process::Spec{d.client(d.file("n.lua"), {std::to_string(i)})}));
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        auto st = clients[static_cast<size_t>(i)]->wait_exit(slow(60s));
        if (st && st->exited_ok() &&
            clients[static_cast<size_t>(i)]->out() == "n=" + std::to_string(i) + "\n")
            ++ok;
        else
            ADD_FAILURE() << i << ": " << (st ? st->describe() : "timeout")
                          << clients[static_cast<size_t>(i)]->err();
    }
    EXPECT_EQ(ok, n);
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, ShutdownStopsRunningScripts) {
    auto d = std::make_unique<Luad>();
    write_script(d->file("sleep.lua"),
                 "print('ready') io.stdout:flush() require('keel').sleep(30)\n");
    Process client(Process::Spec{d->client(d->file("sleep.lua"))});
    ASSERT_TRUE(client.wait_output("ready\n", slow(10s)));
    d->proc().signal(SIGTERM);
    auto st = client.wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->signal, SIGTERM) << st->describe();
    auto server = d->proc().wait_exit(slow(10s));
    ASSERT_TRUE(server);
    EXPECT_TRUE(server->exited_ok()) << server->describe();
    EXPECT_FALSE(std::filesystem::exists(d->socket()));
}

}  // namespace
}  // namespace keel::it
