// keel-test-orphans N FIFO: makes N orphans for keel init's PID 1 tests. Each is
// double-forked (the middle process exits at once, so the grandchild goes to the
// namespace's init) and waits for SIGUSR1. Prints "orphans N" once all exist,
// then waits for a line on FIFO (written by the test) and sends SIGUSR1 to its
// process group, which the orphans kept: they all exit(0) at the same moment.
// (A signal rather than end of file on a shared pipe: 5,000 readers woken at
// once would queue on the pipe's lock, and the test would time that instead of
// init.) Exits 0 after that, 111 on a failure.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void exit_now(int) {
    ::_exit(0);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "keel-test-orphans: %s: %s\n", what, std::strerror(errno));
    std::exit(111);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: keel-test-orphans N FIFO\n");
        return 100;
    }
    const long n = std::strtol(argv[1], nullptr, 10);
    ::signal(SIGUSR1, exit_now);
    for (long i = 0; i < n; ++i) {
        pid_t middle = ::fork();
        if (middle < 0) die("fork");
        if (middle == 0) {
            if (::fork() == 0)  // the orphan-to-be
                for (;;)
                    ::pause();
            ::_exit(0);
        }
        int status;
        while (::waitpid(middle, &status, 0) < 0)
            if (errno != EINTR) die("waitpid");
    }
    std::printf("orphans %ld\n", n);
    std::fflush(stdout);
    int fifo = ::open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fifo < 0) die(argv[2]);
    char buf[16];
    while (::read(fifo, buf, sizeof buf) < 0)
        if (errno != EINTR) die("read");
    ::signal(SIGUSR1, SIG_IGN);  // the orphans go, this one stays to exit by itself
    if (::kill(0, SIGUSR1) != 0) die("kill");
    return 0;
}
