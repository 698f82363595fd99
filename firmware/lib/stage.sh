# Steps of firmware/build that fill the staging folders. Source it, do not run it. They read
# the board.conf variables (DEB_ARCH, KERNEL_VERSION, ...) and SOURCE_DATE_EPOCH.
# shellcheck shell=bash

# Puts every program of firmware/binaries into $2: built by `cross/build $1 --release` when
# cross/build exists and FIRMWARE_STANDINS is not 1, else the stand-in of firmware/standin
# (listed in $2/STANDINS).
build_binaries() {
    local target=$1 dir=$2 name built=
    mkdir -p "$dir"
    : >"$dir/STANDINS"
    if [[ -x cross/build && ${FIRMWARE_STANDINS:-0} != 1 ]]; then
        # The build scripts of ring and aws-lc-sys declare SOURCE_DATE_EPOCH as an input, so
        # passing the commit time would rebuild them and their dependents after every commit.
        # The binaries embed no build time, so they are the same without it.
        env -u SOURCE_DATE_EPOCH bash cross/build "$target" --release >&2
        # cross/build puts stripped copies here.
        built=$(realpath -m "${CARGO_TARGET_DIR:-target}")/cross/bin/$target/release
    else
        echo "no cross build (cross/build missing or FIRMWARE_STANDINS=1): the image gets" \
            "the stand-ins of firmware/standin" >&2
    fi
    for name in $(list_entries firmware/binaries); do
        if [[ -n $built && -x $built/$name ]]; then
            cp "$built/$name" "$dir/$name"
        elif [[ -x firmware/standin/$name ]]; then
            cp "firmware/standin/$name" "$dir/$name"
            echo "$name" >>"$dir/STANDINS"
        else
            echo "$name: not built and no stand-in, left out of the image" >&2
        fi
    done
}

# Unpacks each package of board/$1/packages into its own folder under $2.
unpack_packages() {
    local package
    for package in $(list_entries "board/$1/packages"); do
        mkdir -p "$2/${package%:*}"
        extract_deb "$package" "$2/${package%:*}"
    done
    # The amd64 build of the same busybox version lists the applets, since the target's
    # binary does not run on the build host.
    local version
    read -r _ version _ <<<"$(locked_line "busybox-static:$DEB_ARCH")"
    local host_deb="out/cache/debs/busybox-static_${version//:/%3a}_amd64.deb"
    if [[ ! -f $host_deb ]]; then
        (cd out/cache/debs && apt-get download -q "busybox-static:amd64=$version" >&2)
    fi
    mkdir -p "$2/host-busybox"
    dpkg-deb -x "$host_deb" "$2/host-busybox"
}

# Installs busybox from $1 into the tree $2 with a symbolic link for each applet.
install_busybox() {
    local debs=$1 tree=$2 applet
    mkdir -p "$tree/bin" "$tree/sbin" "$tree/usr/bin" "$tree/usr/sbin"
    cp "$debs/busybox-static/bin/busybox" "$tree/bin/busybox"
    for applet in $("$debs/host-busybox/bin/busybox" --list-full | sort); do
        [[ -e $tree/$applet ]] || ln -s /bin/busybox "$tree/$applet"
    done
}

# Copies modules $3 (names as modprobe takes them) and their dependencies from the kernel
# package in $1 into tree $2, and writes modules.dep for them.
install_modules() {
    local debs=$1 tree=$2 names=$3
    local kernel_deb=$debs/linux-image-$KERNEL_VERSION
    local source_dir=$kernel_deb/lib/modules/$KERNEL_VERSION
    [[ -f $source_dir/modules.dep ]] || depmod -b "$kernel_deb" "$KERNEL_VERSION"

    local name path wanted
    mkdir -p "$tree/lib/modules/$KERNEL_VERSION"
    for name in $names; do
        wanted=${name//-/_}
        path=$(awk -F: -v want="$wanted" '{
                base = $1; sub(/.*\//, "", base); sub(/\.ko.*$/, "", base); gsub(/-/, "_", base)
                if (base == want) { print $1 " " $2; exit }
            }' "$source_dir/modules.dep")
        [[ -n $path ]] || die "kernel module $name is not in linux-image-$KERNEL_VERSION"
        for path in $path; do
            mkdir -p "$tree/lib/modules/$KERNEL_VERSION/$(dirname "$path")"
            cp "$source_dir/$path" "$tree/lib/modules/$KERNEL_VERSION/$path"
        done
    done
    cp "$source_dir/modules.builtin" "$source_dir/modules.builtin.modinfo" "$source_dir/modules.order" \
        "$tree/lib/modules/$KERNEL_VERSION/"
    depmod -b "$tree" "$KERNEL_VERSION"
}

# Copies the shared libraries (*.so*, the dynamic loader) of packages $3 from $1 into tree $2.
install_libraries() {
    local debs=$1 tree=$2 package
    for package in $3; do
        local dirs=()
        [[ -d $debs/$package/lib ]] && dirs+=(lib)
        [[ -d $debs/$package/usr/lib ]] && dirs+=(usr/lib)
        ((${#dirs[@]})) || continue
        (cd "$debs/$package" && find "${dirs[@]}" -path '*/gconv' -prune -o \
            \( -name '*.so*' -o -name 'ld-linux*' \) -print) |
            while read -r path; do
                mkdir -p "$tree/$(dirname "$path")"
                cp -a "$debs/$package/$path" "$tree/$path"
            done
    done
}

# Builds the root file system tree in $3 from the packages in $1 and the programs in $2.
stage_root() {
    local debs=$1 bin=$2 root=$3
    mkdir -p "$root"/{boot,data,dev,proc,sys,run,tmp,root,etc,usr/bin,usr/share/trailwatch}
    chmod 0700 "$root/root"
    chmod 1777 "$root/tmp"
    install_busybox "$debs" "$root"
    install_modules "$debs" "$root" "$NETWORK_MODULES"
    echo "$NETWORK_MODULES" >"$root/lib/modules/network.list"

    # runit's programs link glibc, and so do the armv7 programs, with Debian's libpcap.
    local tool
    for tool in runsvdir runsv sv chpst svlogd; do
        install -m 0755 "$debs/runit/usr/bin/$tool" "$root/usr/bin/$tool"
    done
    install_libraries "$debs" "$root" libc6
    if [[ $DEB_ARCH == armhf ]]; then
        install_libraries "$debs" "$root" "libgcc-s1 libpcap0.8 libdbus-1-3 libsystemd0 libcap2
            libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1"
    fi

    local name
    for name in $(list_entries firmware/binaries); do
        [[ -f $bin/$name ]] && install -m 0755 "$bin/$name" "$root/usr/bin/$name"
    done
    cp "$bin/STANDINS" "$root/usr/share/trailwatch/STANDINS"

    mkdir -p "$root/usr/share/trailwatch/trails"
    cp -r trails/static trails/custom trails/feeds.toml "$root/usr/share/trailwatch/trails/"

    cp -r rootfs-overlay/. "$root/"
    rm -f "$root/README.md"
    mkdir -p "$root/etc/sv"
    cp -r services/. "$root/etc/sv/"
    rm -f "$root/etc/sv/README.md"
    ln -sfn /run/resolv.conf "$root/etc/resolv.conf"
    chmod 0600 "$root/etc/shadow"
    echo "trailwatch firmware $(git describe --always --dirty 2>/dev/null || echo unknown)" \
        >"$root/etc/trailwatch-release"
}

# Builds the initramfs tree in $2: busybox, the storage modules, and e2fsprogs with its
# libraries for preparing /data.
stage_initramfs() {
    local debs=$1 tree=$2
    mkdir -p "$tree"/{dev,proc,sys,newroot,etc,sbin}
    install_busybox "$debs" "$tree"
    install_modules "$debs" "$tree" "$INITRAMFS_MODULES"
    echo "$INITRAMFS_MODULES" | tr ' ' '\n' >"$tree/etc/modules.list"
    install_libraries "$debs" "$tree" "libc6 libext2fs2 libcom-err2 libblkid1 libuuid1"

    local tool
    for tool in mke2fs e2fsck resize2fs; do
        cp --remove-destination "$debs/e2fsprogs/sbin/$tool" "$tree/sbin/$tool"
    done
    cp "$debs/e2fsprogs/etc/mke2fs.conf" "$tree/etc/mke2fs.conf"
    install -m 0755 firmware/initramfs/init "$tree/init"
    install -m 0755 firmware/initramfs/data-partition "$tree/bin/data-partition"
    cat >"$tree/etc/image.conf" <<CONF
DISK_ID=$DISK_ID
DATA_START_SECTOR=$(((1 + BOOT_MIB + ROOT_MIB) * 2048))
CONF
}

# Fills the boot partition tree in $3: kernel, initramfs (added later), trailwatch.txt and, for
# the Pi boards, the GPU firmware, config.txt, cmdline.txt and device trees.
stage_boot() {
    local board=$1 debs=$2 boot=$3
    local kernel_deb=$debs/linux-image-$KERNEL_VERSION
    mkdir -p "$boot"
    cp "$kernel_deb/boot/vmlinuz-$KERNEL_VERSION" "$boot/vmlinuz"
    cp firmware/boot/trailwatch.txt "$boot/trailwatch.txt"
    cp "board/$board/cmdline.txt" "$boot/cmdline.txt"
    [[ -f board/$board/config.txt ]] || return 0

    cp "board/$board/config.txt" "$boot/config.txt"
    local file dtb
    for file in bootcode.bin start.elf fixup.dat start4.elf fixup4.dat; do
        cp "$debs/raspi-firmware/usr/lib/raspi-firmware/$file" "$boot/$file"
    done
    cp "$debs/raspi-firmware/usr/share/doc/raspi-firmware/copyright" "$boot/LICENCE.raspi-firmware"
    for dtb in $DEVICE_TREES; do
        file=$(find "$kernel_deb/usr/lib/linux-image-$KERNEL_VERSION" -name "$dtb.dtb" | head -n 1)
        [[ -n $file ]] || die "device tree $dtb.dtb is not in linux-image-$KERNEL_VERSION"
        cp "$file" "$boot/$dtb.dtb"
    done
}
