# Read by ctest after the discovered GoogleTest tests: the longest ones (QEMU
# guests, image builds) get a high COST so that `ctest -j` starts them first. A
# fresh checkout has no timing data from an earlier run, and a two-minute test
# started last makes the whole run two minutes longer.
cmake_policy(PUSH)
cmake_policy(SET CMP0064 NEW)
foreach(t
    ImageBuild.TwoBuildsFromTheLockAreByteForByteEqualAndTheDemoFitsItsBudget
    DemoSystem.BootsUnderQemuServesSshAutomountsAUsbStickAndPowersOff
    ImageBoot.BootsATreeBuiltInitramfsTalksToItsBusHotplugsUsbAndPowersOff
    NetDaemon.CommitConfirmedApplyHealsACutManagementAddress
    DevButtons.UinputKeysInQemuAskInitAndArePublished
    Dev.LoadsModulesAndServesFirmwareInQemu)
  if(TEST ${t})
    set_tests_properties(${t} PROPERTIES COST 1000)
  endif()
endforeach()
cmake_policy(POP)
