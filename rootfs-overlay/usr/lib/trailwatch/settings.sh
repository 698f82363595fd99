# Reads the user settings of /boot/trailwatch.txt. Source it, do not run it.
# shellcheck shell=sh
#
# The file has one `key = value` per line, `#` starts a comment, and values are taken
# literally (no quotes, no variables), so a typo cannot run a command.

SETTINGS_FILE=/run/trailwatch/settings

# Copies the key = value lines of $1 (when it exists) into $SETTINGS_FILE, normalised to
# key=value, and reports unknown keys on the console.
settings_load() {
    mkdir -p /run/trailwatch
    : >"$SETTINGS_FILE"
    [ -f "$1" ] || return 0
    tr -d '\r' <"$1" | sed -n 's/^[[:space:]]*\([a-z_]*\)[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1=\2/p' |
        while IFS='=' read -r key value; do
            case $key in
            hostname | sensor_name | management_interface | monitor_interface | address | \
                gateway | dns | trail_updates | update_url | public_key | capture_filter)
                printf '%s=%s\n' "$key" "$value" >>"$SETTINGS_FILE"
                ;;
            *)
                echo "trailwatch: $1: unknown key '$key' ignored" >/dev/console
                ;;
            esac
        done
}

# Prints the value of setting $1, or $2 when the setting is missing or empty.
setting() {
    value=$(sed -n "s/^$1=//p" "$SETTINGS_FILE" 2>/dev/null | tail -n 1)
    printf '%s\n' "${value:-$2}"
}

# Prints the interface that setting value $1 names: a MAC address (aa:bb:cc:dd:ee:ff, any case)
# becomes the name of the interface with that address, and a name is printed as it is. Returns 1
# and prints the MAC address itself when no interface has it.
interface_name() {
    case $1 in
    [0-9a-fA-F][0-9a-fA-F]:??:??:??:??:??)
        wanted=$(printf '%s' "$1" | tr 'A-F' 'a-f')
        for path in /sys/class/net/*; do
            if [ "$(cat "$path/address" 2>/dev/null)" = "$wanted" ]; then
                echo "${path##*/}"
                return 0
            fi
        done
        echo "$1"
        return 1
        ;;
    esac
    echo "$1"
}

# Prints the boot partition's device, which the initramfs found by the image's disk id.
boot_partition() {
    sed -n 's/^boot=//p' /run/trailwatch/partitions
}
