# The shell form of support/skip.h, for test scripts that ctest runs directly
# (registered with SKIP_RETURN_CODE 77). Source it from bash, then:
#   keel_skip TEST FACILITY WHY
# Outside CI: appends "TEST<TAB>FACILITY<TAB>WHY" to $KEEL_SKIP_LOG (when set)
# and exits 77 (a skip). With CI=true and FACILITY not in allowed-skips: exits 1
# naming the facility.
keel_skip_allow_list="$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd)/allowed-skips"

keel_skip() {
    if [ "${CI:-}" = true ] &&
        ! awk -v f="$2" '$1 == f && $1 !~ /^#/ { found = 1 } END { exit !found }' "$keel_skip_allow_list"; then
        echo "$1: missing facility \"$2\": $3" >&2
        echo "(CI=true: a test may skip only for what tests/support/allowed-skips lists)" >&2
        exit 1
    fi
    if [ -n "${KEEL_SKIP_LOG:-}" ]; then
        printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$KEEL_SKIP_LOG"
    fi
    echo "$1: skipped: [missing $2] $3" >&2
    exit 77
}
