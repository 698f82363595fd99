# Helpers and settings shared by cross/setup, cross/build and cross/test. Source it from the
# repository root, do not run it.

# libpcap version built for aarch64-unknown-linux-musl. It must equal the upstream version of
# Debian 12's libpcap source package, and Debian 12's armhf libpcap is the same version, so
# both targets compile against the same libpcap API.
LIBPCAP_VERSION=1.10.3

# The two board targets these scripts know.
TARGETS=(aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf)

# Runs a command as one named step and prints the step name with its time in seconds. The
# command's own output goes to standard error, so the step lines stay readable. A failing
# command stops the script through `set -e`, and the EXIT trap below names the step. The
# command is not run inside `if` or `||`, because bash ignores `set -e` in functions called
# there, and a failure in the middle of a step function would go unnoticed.
step() {
    current_step=$1
    shift
    local started=$SECONDS
    "$@" >&2
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
