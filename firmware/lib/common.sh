# Helpers shared by the firmware scripts. Source it, do not run it.
# shellcheck shell=bash

# Prints the entries of list file $1 (firmware/binaries, board/*/packages): one per line,
# without comments and blank lines.
list_entries() {
    grep -v '^\s*\(#\|$\)' "$1"
}

# Runs a command as one named step and prints one line with its time, or the step name and the
# exit status when it fails. Output of the command goes to stderr so the step lines stay readable.
step() {
    local name=$1 status=0
    shift
    local started=$SECONDS

    # A subshell outside any condition, so `set -e` still applies inside the command.
    set +e
    (
        set -e
        "$@"
    ) >&2
    status=$?
    set -e

    if ((status == 0)); then
        printf '%-52s %4d s\n' "$name" $((SECONDS - started))
    else
        printf '%-52s FAILED (exit %d)\n' "$name" "$status"
        exit "$status"
    fi
}

# Stops the script with a message on standard error.
die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Runs the extracted qemu-system-aarch64 with its libraries and firmware files.
qemu_aarch64() {
    local qemu_dir
    qemu_dir=$(realpath out/cache/qemu)
    local libs="$qemu_dir/usr/lib/x86_64-linux-gnu:$qemu_dir/lib/x86_64-linux-gnu"
    LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$qemu_dir/usr/bin/qemu-system-aarch64" -L "$qemu_dir/usr/share/qemu" "$@"
}
