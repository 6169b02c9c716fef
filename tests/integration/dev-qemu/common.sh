# Sourced by each test guest's /init: mounts, keel bus on a unix socket, every
# hardware.* message recorded in /run/events.log by keel sub, and keel dev as
# the device manager (its log in /run/dev.log, /run/dev.ready once coldplug is
# done). `waitfor FILE TEXT [SECONDS]` waits until FILE holds TEXT.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run
echo "KEELTEST-BOOT: kernel $(uname -r), $(wc -l < /proc/modules) modules loaded"
waitfor() {
    i=0
    while ! grep -q -F -- "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(( ${3:-20} * 20 )) ] && { echo "KEELTEST-TIMEOUT: no '$2' in $1"; return 1; }
        sleep 0.05
    done
}
keel bus --listen none --socket /run/bus.sock --ready-fd 3 3>/run/bus.ready 2>/run/bus.log &
while [ ! -s /run/bus.ready ]; do sleep 0.05; done
export KEEL_BUS=unix:/run/bus.sock
keel sub --json 'hardware.>' --ready-fd 3 3>/run/sub.ready > /run/events.log &
while [ ! -s /run/sub.ready ]; do sleep 0.05; done
keel dev --ready-fd 3 3>/run/dev.ready 2>/run/dev.log &
