// The verbs of keel-image, the host-side tool `keel build|boot|run` forward to
// (it links the image library, which never goes onto the device).
#pragma once

namespace keel::cli {

int image_build_main(int argc, char** argv);
int image_boot_main(int argc, char** argv);
int image_run_main(int argc, char** argv);
int image_vm_main(int argc, char** argv);

// 100 for what the user named wrongly (missing or unreadable files, bad
// input: Errors without errno), 111 for system failures worth retrying.
int image_exit_code(int error_code);

// In keel itself: execs keel-image beside /proc/self/exe with the same arguments.
int forward_to_keel_image(int argc, char** argv);

}  // namespace keel::cli
