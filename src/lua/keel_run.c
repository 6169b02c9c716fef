/* keel-run SCRIPT [ARGS...]: runs a Lua script in the keel luad fork server.
 *
 * Sends the script path, arguments, environment, working directory and umask
 * together with its own stdin/stdout/stderr (SCM_RIGHTS), forwards the signals
 * it receives (HUP INT QUIT TERM USR1 USR2 WINCH ALRM CONT) and exits the way the
 * script did: with its exit code, or killed by the same signal. Usable as
 * `#!/usr/bin/keel-run`. Plain C, no Lua, no C++: it starts in microseconds.
 * Protocol: luad/wire.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "luad/wire.h"

extern char** environ;

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT};

/* No stdio: printf and scanf would triple the size of this program. */
static void out(int fd, const char* s) {
    if (write(fd, s, strlen(s)) < 0) { /* nothing left to tell */ }
}

static void say(const char* a, const char* b, const char* c) {
    char line[1024] = "keel-run: ";
    const char* parts[] = {a, b, c, "\n"};
    for (int i = 0; i < 4; ++i)
        if (parts[i]) strncat(line, parts[i], sizeof line - strlen(line) - 2);
    if (line[strlen(line) - 1] != '\n') strcat(line, "\n");
    out(2, line);
}

/* Parses "WORD N" at the start of line: N, or -1 if line is not that. */
static int word_number(const char* line, const char* word) {
    size_t n = strlen(word);
    if (strncmp(line, word, n) || line[n] != ' ') return -1;
    const char* p = line + n + 1;
    int v = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 9; ++p, ++digits) v = v * 10 + (*p - '0');
    return digits ? v : -1;
}

static void usage(void) {
    out(1, "Usage: keel-run [--socket PATH] SCRIPT [ARGS...]\n"
          "\n"
          "Runs the Lua SCRIPT in the keel luad fork server as you, with your stdin,\n"
          "stdout, stderr, environment and working directory, and exits like it.\n"
          "Works as a shebang: #!/usr/bin/keel-run\n"
          "\n"
          "  --socket PATH  the server's socket [$KEEL_LUAD, else " KEEL_RUN_DEFAULT_SOCKET "]\n"
          "  --version      print the version\n"
          "\n"
          "Exit codes: the script's; 124 the server stopped it at its wall-clock limit,\n"
          "128 + N at its CPU limit (signal N); 100 bad usage or a request the server\n"
          "refused; 111 the server cannot be reached or is busy.\n");
}

/* The request, in a buffer sized up front (mmap: no malloc linked in). */
struct buf {
    char* p;
    size_t len, cap;
};

static void put(struct buf* b, const void* p, size_t n) {
    if (b->len + n > b->cap) {
        say("internal error: request larger than computed", 0, 0);
        exit(111);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static struct buf make_buf(size_t cap) {
    struct buf b = {mmap(0, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 0, cap};
    if (b.p == MAP_FAILED) {
        say("out of memory", 0, 0);
        exit(111);
    }
    return b;
}

static void put_u32(struct buf* b, uint32_t v) {
    unsigned char le[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    put(b, le, 4);
}

static void put_str(struct buf* b, const char* s) {
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

/* Sends all of b; the first chunk carries fds 0, 1 and 2. */
static int send_request(int sock, const struct buf* b) {
    size_t off = 0;
    int first = 1;
    while (off < b->len) {
        struct iovec iov = {b->p + off, b->len - off};
        struct msghdr msg = {0};
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(3 * sizeof(int))];
        } control;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (first) {
            int fds[3] = {0, 1, 2};
            memset(&control, 0, sizeof control);
            msg.msg_control = control.space;
            msg.msg_controllen = sizeof control.space;
            struct cmsghdr* h = CMSG_FIRSTHDR(&msg);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof fds);
            memcpy(CMSG_DATA(h), fds, sizeof fds);
        }
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        first = 0;
        off += (size_t)n;
    }
    return 0;
}

/* Exits the way the script did. */
static void exit_like(const char* line) {
    int n;
    if ((n = word_number(line, "exit")) >= 0) exit(n & 0xff);
    if ((n = word_number(line, "signal")) > 0 && n < 65) {
        /* Die of the same signal, without a core file of our own. */
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        signal(n, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, n);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), n);
        exit(128 + n);
    }
    if ((n = word_number(line, "error")) >= 0) {
        const char* msg = strchr(line + 6, ' ');
        say(msg ? msg + 1 : "the server refused the request", 0, 0);
        exit(n > 0 && n < 256 ? n : 100);
    }
    if ((n = word_number(line, "killed")) >= 0) {
        /* Stopped at a limit: 124 (wall clock, as timeout(1)) or 128 + the signal. */
        const char* msg = strchr(line + 7, ' ');
        say(msg ? msg + 1 : "the script was stopped at a limit", 0, 0);
        exit(n > 0 && n < 256 ? n : 124);
    }
    say("unexpected answer from the server: ", line, 0);
    exit(111);
}

int main(int argc, char** argv) {
    const char* path = getenv("KEEL_LUAD");
    if (!path || !*path) path = KEEL_RUN_DEFAULT_SOCKET;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        if (!strcmp(argv[i], "--")) {
            ++i;
            break;
        }
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            path = argv[i] + 9;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            out(1, "keel-run " KEEL_VERSION "\n");
            return 0;
        } else {
            say("unknown option ", argv[i], " (try --help)");
            return 100;
        }
    }
    if (i >= argc) {
        say("no script given (try --help)", 0, 0);
        return 100;
    }

    /* Signals wait in a signalfd from now on, to be forwarded once connected. */
    sigset_t sigs;
    sigemptyset(&sigs);
    for (size_t k = 0; k < sizeof forwarded / sizeof *forwarded; ++k) sigaddset(&sigs, forwarded[k]);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);

    /* A closed stdin/stdout/stderr cannot be sent: stand /dev/null in. */
    for (int fd = 0; fd < 3; ++fd) {
        if (fcntl(fd, F_GETFD) < 0) {
            int null = open("/dev/null", O_RDWR);
            if (null >= 0 && null != fd) {
                dup2(null, fd);
                close(null);
            }
        }
    }

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        say("socket path too long: ", path, 0);
        return 100;
    }
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr*)&addr, sizeof addr) < 0) {
        say("cannot connect to ", path, errno == ENOENT ? ": no such socket (is keel luad running?)" : 0);
        if (errno != ENOENT) say(path, ": ", strerror(errno));
        return 111;
    }

    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0; /* gone: the script starts in / */
    mode_t mask = umask(022);
    umask(mask);
    int envc = 0;
    size_t size = KEEL_RUN_HEADER_LEN + 12 + 8 + strlen(cwd) + strlen(argv[i]);
    for (char** e = environ; e && *e; ++e, ++envc) size += 4 + strlen(*e);
    for (int k = i + 1; k < argc; ++k) size += 4 + strlen(argv[k]);

    struct buf req = make_buf(size);
    put(&req, KEEL_RUN_MAGIC, KEEL_RUN_MAGIC_LEN);
    put_u32(&req, (uint32_t)(size - KEEL_RUN_HEADER_LEN));
    struct buf body = req;  /* the body follows the header in the same buffer */
    body.p += KEEL_RUN_HEADER_LEN;
    body.cap -= KEEL_RUN_HEADER_LEN;
    body.len = 0;
    put_u32(&body, (uint32_t)mask);
    put_u32(&body, (uint32_t)(argc - i - 1));
    put_u32(&body, (uint32_t)envc);
    put_str(&body, cwd);
    put_str(&body, argv[i]);
    for (int k = i + 1; k < argc; ++k) put_str(&body, argv[k]);
    for (char** e = environ; e && *e; ++e) put_str(&body, *e);
    req.len += body.len;
    if (send_request(sock, &req) < 0) {
        say("cannot send the request to ", path, 0);
        return 111;
    }

    char line[KEEL_RUN_MAX_REPLY + 1];
    size_t have = 0;
    struct pollfd pfd[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    for (;;) {
        if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            say("poll: ", strerror(errno), 0);
            return 111;
        }
        if (sfd >= 0 && (pfd[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                unsigned char b = (unsigned char)si.ssi_signo;
                if (send(sock, &b, 1, MSG_NOSIGNAL) < 0) break;
            }
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, line + have, sizeof line - 1 - have);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                say("the fork server closed the connection without an answer", 0, 0);
                return 111;
            }
            have += (size_t)n;
            line[have] = 0;
            if (strchr(line, '\n') || have == sizeof line - 1) {
                char* nl = strchr(line, '\n');
                if (nl) *nl = 0;
                exit_like(line);
            }
        }
    }
}
