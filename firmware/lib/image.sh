# Steps of firmware/build that write file system images. Source it, do not run it. Every
# timestamp is SOURCE_DATE_EPOCH and every id is fixed, so the output depends only on inputs.
# shellcheck shell=bash

# Sets the modification time of every file in tree $1 to SOURCE_DATE_EPOCH.
clamp_times() {
    find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# Writes tree $1 as a gzip-compressed newc cpio archive $2, entries sorted, owned by root.
make_cpio() {
    clamp_times "$1"
    (cd "$1" && find . | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
        gzip -n -9 >"$2"
}

# Writes tree $1 as squashfs image $2 (xz, root-owned). mksquashfs takes the file and file
# system times from SOURCE_DATE_EPOCH. Fails when the image exceeds the partition (ROOT_MIB).
make_squashfs() {
    clamp_times "$1"
    rm -f "$2"
    mksquashfs "$1" "$2" -quiet -no-progress -comp xz -b 256K -all-root -no-xattrs >&2
    local size
    size=$(stat -c %s "$2")
    ((size <= ROOT_MIB * 1048576)) ||
        die "root file system is $size bytes, larger than ROOT_MIB=$ROOT_MIB in board.conf"
}

# Writes tree $1 as FAT32 image $2 of BOOT_MIB, volume id from DISK_ID, files in sorted order.
make_fat() {
    local tree=$1 fat=$2
    clamp_times "$tree"
    rm -f "$fat"
    mkfs.vfat -C -F 32 -n TRAILBOOT -i "$DISK_ID" --invariant "$fat" $((BOOT_MIB * 1024)) >&2
    local path
    (cd "$tree" && find . -mindepth 1 | sort) | while read -r path; do
        path=${path#./}
        if [[ -d $tree/$path ]]; then
            MTOOLS_NO_VFAT=0 mmd -i "$fat" "::$path"
        else
            mcopy -m -i "$fat" "$tree/$path" "::$path"
        fi
    done
}

# Writes disk image $3: MBR with disk id DISK_ID, partition 1 FAT ($1, bootable) at 1 MiB,
# partition 2 the squashfs root ($2). Partition 3 (/data) is created on first boot.
assemble_image() {
    local fat=$1 root=$2 image=$3
    local boot_start=2048 boot_sectors=$((BOOT_MIB * 2048)) root_sectors=$((ROOT_MIB * 2048))
    local root_start=$((boot_start + boot_sectors))
    rm -f "$image"
    truncate -s $(((root_start + root_sectors) * 512)) "$image"
    sfdisk --quiet --no-reread --no-tell-kernel "$image" >&2 <<TABLE
label: dos
label-id: 0x$DISK_ID
unit: sectors

start=$boot_start, size=$boot_sectors, type=c, bootable
start=$root_start, size=$root_sectors, type=83
TABLE
    dd if="$fat" of="$image" bs=512 seek=$boot_start conv=notrunc,fsync status=none
    dd if="$root" of="$image" bs=512 seek=$root_start conv=notrunc,fsync status=none
}

# Writes $3.sha256, $3.bmap and manifest.txt (packages, programs, sizes) next to image $3.
write_metadata() {
    local board=$1 work=$2 image=$3 out
    out=$(dirname "$image")
    (cd "$out" && sha256sum "$(basename "$image")" >"$(basename "$image").sha256")
    bmaptool -q create -o "$image.bmap" "$image"
    {
        echo "# trailwatch-$board.img, commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
        echo "# SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
        echo "## Debian packages (name:architecture version sha256)"
        local package
        for package in $(list_entries "board/$board/packages" | sort); do
            locked_line "$package"
        done
        echo "## programs in /usr/bin (sha256 bytes name)"
        local file
        for file in "$work"/bin/trailwatch-*; do
            [[ -f $file ]] || continue
            printf '%s %s %s%s\n' "$(sha256sum <"$file" | cut -d' ' -f1)" "$(stat -c %s "$file")" \
                "$(basename "$file")" "$(grep -qx "$(basename "$file")" "$work/bin/STANDINS" &&
                    echo ' STAND-IN')"
        done
        echo "## sizes in bytes"
        echo "root.sqfs $(stat -c %s "$work/root.sqfs")"
        echo "boot.vfat $(stat -c %s "$work/boot.vfat")"
        echo "initrd.img $(stat -c %s "$work/boot/initrd.img")"
        echo "vmlinuz $(stat -c %s "$work/boot/vmlinuz")"
        echo "$(basename "$image") $(stat -c %s "$image")"
    } >"$out/manifest.txt"
}
