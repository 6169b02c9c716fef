// keel luad: the Lua fork server. Loads the keel library and the configured
// modules once, then runs each keel-run client's script in a forked child that
// has become that client (see src/lua/luad/).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/log.h"
#include "base/sys.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "loop/event_loop.h"
#include "loop/signal_watch.h"
#include "lua/luad/config.h"
#include "lua/luad/preload.h"
#include "lua/luad/server.h"
#include "lua/runner.h"

namespace keel::cli {
namespace {

constexpr const char* kDefaultManifest = "/etc/keel/system.json";

}  // namespace

int luad_main(int argc, char** argv) {
    log::set_program("keel luad");
    luad::LuadConfig cfg;
    std::string config_file, manifest, socket, socket_mode, lua_path, lua_cpath;
    std::vector<std::string> preload, c_module_dirs;
    int64_t max_children = -1, per_user = -1, max_pending = -1, pending_per_user = -1,
            max_request = -1, warm = -1, cpu = -1, as = -1, nproc = -1, nofile = -1, ready_fd = -1;
    std::chrono::nanoseconds request_timeout{0}, wall{-1};
    bool server_lua_env = false, allow_binary = false, verbose = false;

    Args args("luad", "",
              "Runs Lua scripts for keel-run clients in prewarmed processes: each script\n"
              "runs in a child forked ahead of time that becomes the client (its user,\n"
              "groups, stdio, environment and working directory) and only then reads the\n"
              "client's request: the server itself never reads one.");
    args.option("socket", 's', "PATH", "unix socket to listen on [/run/keel/lua.sock]", &socket);
    args.option("socket-mode", 0, "MODE", "socket permissions, octal [0666]", &socket_mode);
    args.option("max-children", 0, "N", "scripts running at once; more wait their turn [64]",
                &max_children);
    args.option("max-children-per-user", 0, "N",
                "scripts of one user running at once (root exempt) [8]", &per_user);
    args.option("max-pending", 0, "N",
                "connections waiting to start; more are refused at once [1024]", &max_pending);
    args.option("max-pending-per-user", 0, "N",
                "connections of one user waiting to start (root exempt) [32]", &pending_per_user);
    args.duration_option("request-timeout",
                         "time a connection has to start its request, and then to send it [2s]",
                         &request_timeout);
    args.size_option("max-request", "largest request (arguments + environment) [1MiB]",
                     &max_request);
    args.option("warm-children", 0, "N", "children forked ahead, waiting for a client [1]", &warm);
    args.list_option("preload", 'p', "MODULE",
                     "compile MODULE at start so that require finds it at once (repeatable)",
                     &preload);
    args.option("lua-path", 0, "PATH", "package.path for finding preloads [Lua's default]",
                &lua_path);
    args.option("lua-cpath", 0, "PATH", "package.cpath for finding preloads [Lua's default]",
                &lua_cpath);
    args.flag("server-lua-env", 0,
              "honour LUA_INIT, LUA_PATH and LUA_CPATH from the server's environment",
              &server_lua_env);
    args.flag("allow-binary", 0, "let scripts load precompiled chunks [text only]", &allow_binary);
    args.list_option("c-module-dir", 0, "DIR",
                     "where scripts may load C modules from, if only root can change it "
                     "(repeatable) [Lua's default cpath directories]",
                     &c_module_dirs);
    args.option("cpu", 0, "SECONDS",
                "CPU time per script of a user, then SIGXCPU; 0: none [60; root: none]", &cpu);
    args.duration_option("wall",
                         "wall-clock time per script of a user, then SIGKILL; 0: none "
                         "[10m; root: none]",
                         &wall);
    args.size_option("address-space", "address space per script of a user [unlimited]", &as);
    args.option("processes", 0, "N",
                "processes of a user, for its scripts (RLIMIT_NPROC); 0: none [1024]", &nproc);
    args.option("open-files", 0, "N", "open files per script of a user [the server's own limit]",
                &nofile);
    args.option("config", 'c', "FILE",
                "settings: a JSON object like the manifest's \"lua\" section", &config_file);
    args.option("manifest", 0, "FILE",
                "system manifest whose \"lua\" section to use [/etc/keel/system.json if present]",
                &manifest);
    args.option("ready-fd", 0, "FD", "write a newline to FD once listening (s6-style readiness)",
                &ready_fd);
    args.flag("verbose", 'v', "log every script run", &verbose);
    args.epilog(
        "Clients: keel-run SCRIPT [ARGS...] (socket from --socket or $KEEL_LUAD).\n"
        "Limits: the flags set those of users other than root; root's scripts get the config's\n"
        "\"root_limits\" (none by default). A script stopped at its wall-clock limit makes\n"
        "keel-run exit 124, at its CPU limit 128 + the signal, each with a message saying so.\n"
        "Scripts of users other than root run with no_new_privs and no capabilities.\n"
        "Defaults and why: docs/lua.md.\n"
        "Signals: SIGTERM/SIGINT stop accepting, SIGTERM the running scripts (SIGKILL after 5s), "
        "exit.\n"
        "Exit codes: 0 after a clean shutdown, 100 bad usage or configuration, 111 cannot listen.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (verbose) log::set_level(log::Level::kDebug);

    if (!manifest.empty() || std::filesystem::exists(kDefaultManifest)) {
        auto st = luad::apply_manifest(manifest.empty() ? kDefaultManifest : manifest, &cfg);
        if (!st) return fail("luad", "fatal: " + st.error().message(), kExitUsage);
    }
    if (!config_file.empty()) {
        auto text = sys::read_file(config_file);
        if (!text) return fail("luad", "fatal: " + text.error().message(), kExitUsage);
        auto st = luad::apply_config(*text, config_file, &cfg);
        if (!st) return fail("luad", "fatal: " + st.error().message(), kExitUsage);
    }
    if (!socket.empty()) cfg.socket = socket;
    if (!socket_mode.empty()) {
        char* end = nullptr;
        long m = std::strtol(socket_mode.c_str(), &end, 8);
        if (*end || m < 0 || m > 0777)
            return args.usage_error("--socket-mode must be octal, like 0660");
        cfg.socket_mode = static_cast<unsigned>(m);
    }
    for (int64_t n : {max_children, per_user, max_pending, pending_per_user, warm})
        if (n == 0) return args.usage_error("counts must be positive");
    if (max_children > 0) cfg.max_children = static_cast<size_t>(max_children);
    if (per_user > 0) cfg.max_children_per_user = static_cast<size_t>(per_user);
    if (max_pending > 0) cfg.max_pending = static_cast<size_t>(max_pending);
    if (pending_per_user > 0) cfg.max_pending_per_user = static_cast<size_t>(pending_per_user);
    if (warm > 0) cfg.warm_children = static_cast<size_t>(warm);
    if (max_request > 0) cfg.max_request = static_cast<size_t>(max_request);
    if (request_timeout.count() > 0) cfg.request_timeout = request_timeout;
    if (!preload.empty()) cfg.preload = preload;
    if (!lua_path.empty()) cfg.lua_path = lua_path;
    if (!lua_cpath.empty()) cfg.lua_cpath = lua_cpath;
    if (server_lua_env) cfg.server_lua_env = true;
    if (allow_binary) cfg.allow_binary = true;
    for (const auto& d : c_module_dirs)
        if (d.empty() || d[0] != '/')
            return args.usage_error("--c-module-dir must be an absolute path: " + d);
    if (!c_module_dirs.empty()) cfg.c_module_dirs = c_module_dirs;
    if (cpu >= 0) cfg.limits.cpu = cpu;
    if (wall.count() >= 0) cfg.limits.wall = wall;
    if (as >= 0) cfg.limits.address_space = as;
    if (nproc >= 0) cfg.limits.processes = nproc;
    if (nofile >= 0) cfg.limits.open_files = nofile;

    // The server's own environment does not shape the Lua it runs unless asked.
    if (!cfg.server_lua_env) {
        for (const char* v :
             {"LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_PATH_5_4", "LUA_CPATH", "LUA_CPATH_5_4"})
            ::unsetenv(v);
    }
    // The one VM of the server: it finds and compiles the preloads and keeps C
    // modules linked for the children.
    lua_State* L = luaL_newstate();
    if (!L) return fail("luad", "fatal: cannot create a Lua state", kExitTemporary);
    lua::open_libs(L);
    lua_getglobal(L, "package");
    if (!cfg.lua_path.empty()) {
        lua_pushstring(L, cfg.lua_path.c_str());
        lua_setfield(L, -2, "path");
    }
    if (!cfg.lua_cpath.empty()) {
        lua_pushstring(L, cfg.lua_cpath.c_str());
        lua_setfield(L, -2, "cpath");
    }
    lua_pop(L, 1);
    auto preloads = luad::compile_preloads(L, cfg.preload);
    if (!preloads) {
        lua_close(L);
        return fail("luad", "fatal: " + preloads.error().message(), kExitUsage);
    }

    auto loop = loop::EventLoop::create();
    if (!loop) return fail("luad", "fatal: " + loop.error().message(), kExitTemporary);
    ::signal(SIGPIPE, SIG_IGN);
    luad::Server server(**loop, cfg, std::move(preloads).value());
    loop::SignalWatch signals;
    bool stop = false;
    auto st = signals.start(**loop, {SIGCHLD, SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
        if (sig == SIGCHLD) {
            server.reap();
        } else if (sig != SIGHUP) {
            log::info("stopping: %zu scripts still running", server.running());
            server.shutdown(std::chrono::seconds(5));
        }
        if (server.done()) stop = true;
    });
    if (!st) return fail("luad", "fatal: " + st.error().message(), kExitTemporary);
    if (auto s = server.start(); !s) {
        lua_close(L);
        return fail("luad", "fatal: cannot listen on " + cfg.socket + ": " + s.error().message(),
                    kExitTemporary);
    }
    log::debug("listening on %s (%zu preloaded modules)", cfg.socket.c_str(), cfg.preload.size());
    signal_ready(ready_fd);
    while (!stop) {
        auto r = (*loop)->run_once(std::chrono::milliseconds(-1));
        if (!r) {
            log::error("event loop: %s", r.error().message().c_str());
            break;
        }
        if (server.done()) stop = true;
    }
    lua_close(L);
    return kExitOk;
}

}  // namespace keel::cli
