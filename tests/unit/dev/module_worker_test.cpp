// ModuleWorker over the real Debian module tree, resolving only (nothing is
// loaded into the running kernel): jobs submitted while held wait for release().
#include "dev/module_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "loop/event_loop.h"
#include "support/skip.h"
#include "test_util.h"

namespace keel::dev {
namespace {

using namespace std::chrono_literals;

TEST(ModuleWorker, JobsWaitWhileHeldAndRunInOrderOnceReleased) {
    std::string dir = testing::debian_modules_dir();
    if (dir.empty())
        KEEL_SKIP("linux-image-amd64",
                  "no Debian module tree: install linux-image-amd64 (scripts/deps)");
    auto loop = loop::EventLoop::create();
    ASSERT_TRUE(loop);
    testing::TempTree sys;  // nothing live
    ModuleConfig cfg;
    cfg.dir = dir;
    cfg.load = false;
    cfg.modprobe_d = false;
    std::vector<std::string> done;
    auto w = ModuleWorker::start(
        **loop, cfg, sys.path(), [&](const ModuleWorker::Job& job, ModuleLoader::AliasResult&& r) {
            done.push_back(job.devpath + ":" + (r.modules.empty() ? "" : r.modules.back()));
        });
    ASSERT_TRUE(w) << w.error().message();
    (*w)->hold();
    ASSERT_TRUE((*w)->submit({"pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00", "/net"}));
    ASSERT_TRUE((*w)->submit({"virtio:d00000001v00001AF4", "/virtio0"}));
    EXPECT_FALSE((*w)->submit({"virtio:d00000001v00001AF4", "/again"}))
        << "the same alias is waiting";
    auto deadline = std::chrono::steady_clock::now() + 300ms;
    while (std::chrono::steady_clock::now() < deadline)
        (void)(*loop)->run_once(20ms);
    EXPECT_TRUE(done.empty()) << "a job ran while held";
    EXPECT_EQ((*w)->outstanding(), 2u);

    (*w)->release();
    deadline = std::chrono::steady_clock::now() + 20s;
    while (done.size() < 2 && std::chrono::steady_clock::now() < deadline)
        (void)(*loop)->run_once(50ms);
    EXPECT_EQ(done, (std::vector<std::string>{"/net:virtio_pci", "/virtio0:virtio_net"}));
    EXPECT_EQ((*w)->outstanding(), 0u);
}

}  // namespace
}  // namespace keel::dev
