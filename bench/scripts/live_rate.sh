#!/usr/bin/env bash
# Measures live capture: replays the benchmark capture with tcpreplay onto a veth pair between
# two network namespaces this script creates, at increasing packet rates, with the release
# sensor capturing on the other end. For each rate it prints the packets tcpreplay sent and its
# achieved rate, the packets the kernel delivered to and dropped for the sensor, the packets
# the sensor read, and the sensor's CPU use during the replay.
#
# Run as root from anywhere in the repository, after
#   cargo build --release -p trailwatch-sensor -p trailwatch-bench
# Needs tcpreplay (Debian: apt-get install tcpreplay) and iproute2. Not run in CI.
#
# Environment (defaults in brackets):
#   RATES      packets/s to replay at ["50000 100000 200000 400000 800000"]
#   SECONDS_PER_RATE  replay length per rate; the file is looped to fill it [5]
#   PACKETS    frames in the generated capture [500000]
#   TARGET_DIR cargo target folder with the release binaries [$CARGO_TARGET_DIR or ./target]
#   WORK_DIR   capture, logs and statistics [$TMPDIR/trailwatch-live-rate]
#   TRAILS     trail tree for the sensor and the generator [trails/static]
#   SENSOR_CONFIG  configuration file passed to the sensor with -c [none: built-in defaults]
set -euo pipefail

die() {
    echo "live_rate.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "$0")/../.." && pwd)
rates=${RATES:-"50000 100000 200000 400000 800000"}
seconds_per_rate=${SECONDS_PER_RATE:-5}
packets=${PACKETS:-500000}
target_dir=${TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}}
work_dir=${WORK_DIR:-${TMPDIR:-/tmp}/trailwatch-live-rate}
trails=${TRAILS:-$root/trails/static}
sensor=$target_dir/release/trailwatch-sensor
bench=$target_dir/release/trailwatch-bench

[ "$(id -u)" -eq 0 ] || die "run as root: the script creates network namespaces"
command -v tcpreplay >/dev/null || die "tcpreplay not found; install it (apt-get install tcpreplay)"
command -v ip >/dev/null || die "ip not found; install iproute2"
[ -x "$sensor" ] || die "$sensor not found; run cargo build --release -p trailwatch-sensor"
[ -x "$bench" ] || die "$bench not found; run cargo build --release -p trailwatch-bench"
[ -d "$trails" ] || die "trail tree $trails not found; set TRAILS"
config_args=()
if [ -n "${SENSOR_CONFIG:-}" ]; then
    [ -f "$SENSOR_CONFIG" ] || die "configuration $SENSOR_CONFIG not found; fix SENSOR_CONFIG"
    config_args=(-c "$SENSOR_CONFIG")
fi

# Names carry this shell's pid, so the trap removes only what this run created.
tx_ns=twrate-$$-tx
rx_ns=twrate-$$-rx
sensor_pid=

cleanup() {
    if [ -n "$sensor_pid" ] && kill -0 "$sensor_pid" 2>/dev/null; then
        kill -KILL "$sensor_pid" 2>/dev/null || true
    fi
    ip netns delete "$tx_ns" 2>/dev/null || true
    ip netns delete "$rx_ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work_dir"
capture=$work_dir/bench-$packets.pcap
if [ ! -s "$capture" ]; then
    echo "generating $capture ($packets packets)" >&2
    "$bench" gen --packets "$packets" --seed 1 --trails "$trails" -o "$capture" >&2
fi

# The veth is created inside the sending namespace, so no interface appears on the host. The
# MTU leaves room for 1500-byte IP packets with two VLAN tags. Neither end has an address or
# a route, so the replayed frames go nowhere past the receiving interface.
ip netns add "$tx_ns"
ip netns add "$rx_ns"
ip -n "$tx_ns" link add twtx type veth peer name twrx netns "$rx_ns"
for ns_interface in "$tx_ns twtx" "$rx_ns twrx"; do
    set -- $ns_interface
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    ip -n "$1" link set "$2" mtu 9000 up
done

clock_ticks=$(getconf CLK_TCK)

# Prints utime + stime of process $1 in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the command name, which may contain spaces).
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    set -- $stat
    echo $((${12} + ${13}))
}

# Waits up to $2 seconds for the text $3 in file $1.
wait_for_text() {
    local deadline=$((SECONDS + $2))
    until grep -q -- "$3" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        kill -0 "$sensor_pid" 2>/dev/null || return 1
        sleep 0.1
    done
}

printf '%-9s %11s %11s %11s %11s %11s %11s %7s\n' \
    "rate" "sent" "tcpreplay" "received" "dropped" "read" "events" "CPU %"
results=$work_dir/live_rate.tsv
printf 'rate\tsent\ttcpreplay_pps\treceived\tdropped_kernel\tpackets_read\tevents\tcpu_percent\n' \
    >"$results"

for rate in $rates; do
    run_dir=$work_dir/rate-$rate
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    limit=$((rate * seconds_per_rate))

    ip netns exec "$rx_ns" env TZ=UTC "$sensor" "${config_args[@]}" -i twrx --trails "$trails" \
        --log-dir "$run_dir/log" --stats-json "$run_dir/stats.json" --sensor-name bench \
        2>"$run_dir/sensor.stderr" &
    sensor_pid=$!
    wait_for_text "$run_dir/sensor.stderr" 60 "capturing on" ||
        die "the sensor did not start capturing; see $run_dir/sensor.stderr"

    before=$(cpu_ticks "$sensor_pid")
    started=$(date +%s.%N)
    ip netns exec "$tx_ns" tcpreplay -i twtx --pps="$rate" --loop=0 --limit="$limit" \
        "$capture" >"$run_dir/tcpreplay.out" 2>&1 ||
        die "tcpreplay failed; see $run_dir/tcpreplay.out"
    finished=$(date +%s.%N)
    after=$(cpu_ticks "$sensor_pid")

    # The final statistics lines follow the "final statistics follow" line on standard error.
    # NOTE: with immediate = false the sensor exits without reading a partly filled ring
    # block, so "read" can fall a few hundred packets short of "received".
    kill -TERM "$sensor_pid"
    wait "$sensor_pid" || die "the sensor exited with status $?; see $run_dir/sensor.stderr"
    sensor_pid=

    sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$run_dir/tcpreplay.out")
    replay_pps=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' \
        "$run_dir/tcpreplay.out" | head -n 1)
    final=$(sed -n '/final statistics follow/,$p' "$run_dir/sensor.stderr" | grep 'stats twrx: ')
    received=$(echo "$final" | sed -n 's/.*stats twrx: \([0-9]*\) received.*/\1/p')
    dropped=$(echo "$final" | sed -n 's/.* \([0-9]*\) dropped by the kernel.*/\1/p')
    packets_read=$(sed -n 's/.*"packets_read":\([0-9]*\).*/\1/p' "$run_dir/stats.json")
    events=$(sed -n 's/.*"events_written":\([0-9]*\).*/\1/p' "$run_dir/stats.json")
    cpu=$(echo "$before $after $started $finished $clock_ticks" |
        awk '{ printf "%.1f", ($2 - $1) / $5 / ($4 - $3) * 100 }')

    printf '%-9s %11s %11s %11s %11s %11s %11s %7s\n' \
        "$rate" "$sent" "${replay_pps%.*}" "$received" "$dropped" "$packets_read" "$events" "$cpu"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$rate" "$sent" "$replay_pps" "$received" "$dropped" "$packets_read" "$events" "$cpu" \
        >>"$results"
done

echo "figures written to $results" >&2
