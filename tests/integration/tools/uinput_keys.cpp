// keel-test-uinput NAME CODE...: a virtual keyboard made through /dev/uinput
// with the given key codes, for the keel dev button tests (run inside a QEMU
// guest: a power key pressed on the host could power the host off through
// systemd-logind or acpid). Prints the event node ("input/event3") once the
// device exists, then obeys lines on stdin:
//   press CODE     key down, sync, key up, sync
//   down CODE | up CODE
//   destroy        removes the device (prints "destroyed")
// and exits at end of input.
#include <fcntl.h>
#include <linux/uinput.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "keel-test-uinput: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(111);
}

void emit(int fd, unsigned type, unsigned code, int value) {
    input_event e{};
    e.type = static_cast<__u16>(type);
    e.code = static_cast<__u16>(code);
    e.value = value;
    if (::write(fd, &e, sizeof e) != static_cast<ssize_t>(sizeof e)) die("write");
}

// The evdev node of input device `sysname` ("input7" -> "input/event7").
std::string event_node(const std::string& sysname) {
    const std::string dir = "/sys/devices/virtual/input/" + sysname;
    for (int i = 0; i < 3000; ++i) {  // 30 s
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec))
            if (e.path().filename().string().starts_with("event"))
                return "input/" + e.path().filename().string();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    errno = ENOENT;
    die("no event node under " + dir + " (is evdev loaded?)");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: keel-test-uinput NAME CODE...\n");
        return 100;
    }
    int fd = ::open("/dev/uinput", O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("/dev/uinput");
    if (::ioctl(fd, UI_SET_EVBIT, EV_KEY) != 0) die("UI_SET_EVBIT");
    for (int i = 2; i < argc; ++i)
        if (::ioctl(fd, UI_SET_KEYBIT, std::atoi(argv[i])) != 0) die("UI_SET_KEYBIT");
    uinput_setup setup{};
    setup.id.bustype = BUS_VIRTUAL;
    setup.id.vendor = 0x4b45;  // "KE"
    setup.id.product = 0x454c;
    std::snprintf(setup.name, sizeof setup.name, "%s", argv[1]);
    if (::ioctl(fd, UI_DEV_SETUP, &setup) != 0) die("UI_DEV_SETUP");
    if (::ioctl(fd, UI_DEV_CREATE) != 0) die("UI_DEV_CREATE");
    char sysname[64] = {};
    if (::ioctl(fd, UI_GET_SYSNAME(sizeof sysname), sysname) < 0) die("UI_GET_SYSNAME");
    std::cout << event_node(sysname) << std::endl;

    for (std::string line; std::getline(std::cin, line);) {
        std::istringstream in(line);
        std::string verb;
        unsigned code = 0;
        in >> verb >> code;
        if (verb == "press" || verb == "down") {
            emit(fd, EV_KEY, code, 1);
            emit(fd, EV_SYN, SYN_REPORT, 0);
        }
        if (verb == "press" || verb == "up") {
            emit(fd, EV_KEY, code, 0);
            emit(fd, EV_SYN, SYN_REPORT, 0);
        }
        if (verb == "destroy") {
            if (::ioctl(fd, UI_DEV_DESTROY) != 0) die("UI_DEV_DESTROY");
            std::cout << "destroyed" << std::endl;
        }
    }
    ::close(fd);
    return 0;
}
