# shellcheck shell=bash
# Helpers and settings shared by cross/setup, cross/build and cross/test. Source it from the
# repository root, do not run it.

# libpcap version built for aarch64-unknown-linux-musl from Debian 12's source package, whose
# upstream version it must equal. Debian 12's armhf libpcap is the same version, so both
# targets compile against the same libpcap API.
LIBPCAP_VERSION=1.10.3

# The two board targets these scripts know.
TARGETS=(aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf)

# Runs a command as one named step, then prints the step name with its time in seconds. A
# failing command stops the script through `set -e`, and the EXIT trap below names the step.
# The command is not run inside `if` or `||`, because bash ignores `set -e` in functions called
# there, and a failure in the middle of a step function would go unnoticed.
step() {
    current_step=$1
    shift
    local started=$SECONDS
    "$@"
    printf '%-60s %4d s\n' "$current_step" $((SECONDS - started))
    current_step=
}

report_failed_step() {
    local status=$?
    if [[ -n ${current_step:-} ]]; then
        printf '%-60s FAILED (exit %d)\n' "$current_step" "$status"
    fi
}
trap report_failed_step EXIT

# Prints a message on standard error and exits with status 1.
die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Checks that TARGET is one of TARGETS.
check_target() {
    local target=$1
    local known
    for known in "${TARGETS[@]}"; do
        [[ $target == "$known" ]] && return 0
    done
    die "unknown target '$target'; expected one of: ${TARGETS[*]}"
}

# Prints the program prefix of Debian's cross binutils and gcc for TARGET.
tool_prefix() {
    case $1 in
    aarch64-unknown-linux-musl) echo aarch64-linux-gnu ;;
    armv7-unknown-linux-gnueabihf) echo arm-linux-gnueabihf ;;
    esac
}

# Exits with a message naming the fix when a program that cross/setup installs is missing.
require_programs() {
    local program
    for program in "$@"; do
        command -v "$program" >/dev/null 2>&1 || die "$program not found; run cross/setup as root"
    done
}

# Exits with a message naming the fix when the rustup target TARGET is missing.
require_rust_target() {
    if ! rustup target list --installed | grep -qx "$1"; then
        die "rustup target $1 is not installed; run cross/setup as root"
    fi
}

# Prints Cargo's target directory: CARGO_TARGET_DIR if set, else target/ in the repository.
target_dir() {
    if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
        realpath -m "$CARGO_TARGET_DIR"
    else
        realpath -m target
    fi
}

# Prints the folder that caches libpcap's source and its builds for the targets.
libpcap_cache() {
    echo "$(target_dir)/cross/libpcap-$LIBPCAP_VERSION"
}
