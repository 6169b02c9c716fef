// One function per verb; main() dispatches on argv[1] (or on the program name).
#pragma once

namespace keel::cli {

int bus_main(int argc, char** argv);
int pub_main(int argc, char** argv);
int sub_main(int argc, char** argv);
int req_main(int argc, char** argv);
int reply_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int lua_main(int argc, char** argv);
int luad_main(int argc, char** argv);
int net_main(int argc, char** argv);
int init_main(int argc, char** argv);
int svc_main(int argc, char** argv);
int poweroff_main(int argc, char** argv);
int reboot_main(int argc, char** argv);
int dev_main(int argc, char** argv);
int modprobe_main(int argc, char** argv);

}  // namespace keel::cli
