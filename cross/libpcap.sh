# shellcheck shell=bash
# The static libpcap for aarch64-unknown-linux-musl, and the pcap crate's variables for both
# targets. Source it after cross/lib.sh, do not run it.

# Configure options of the static libpcap. Every optional capture backend is off because each
# would link a library (D-Bus, libnl, rdma-core, BlueZ, netmap, DPDK) that a static musl
# binary cannot take from the system, and the sensor captures only on Ethernet interfaces.
libpcap_options=(
    --host=aarch64-linux-musl
    --disable-shared
    --disable-dbus
    --disable-rdma
    --disable-bluetooth
    --disable-usb
    --disable-netmap
    --without-libnl
    --without-dpdk
)

# Downloads and unpacks Debian's libpcap source into the cache. It needs the deb-src entries
# that cross/setup adds, but not root.
fetch_libpcap_source() {
    local cache
    cache=$(libpcap_cache)
    rm -rf "$cache/src" "$cache/download"
    mkdir -p "$cache/download"

    # apt downloads as the user _apt when that user can write the folder. Otherwise it
    # downloads as root and prints a warning.
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
        chown _apt "$cache/download"
    fi
    (cd "$cache/download" && apt-get source -q libpcap)

    local unpacked="$cache/download/libpcap-$LIBPCAP_VERSION"
    if [[ ! -f $unpacked/VERSION ]]; then
        die "apt-get source libpcap did not unpack libpcap $LIBPCAP_VERSION (found:" \
            "$(ls "$cache/download")); set LIBPCAP_VERSION in cross/lib.sh to Debian's version"
    fi
    mv "$unpacked" "$cache/src"
    rm -rf "$cache/download"
}

# Builds libpcap from the cached source into CACHE/aarch64-unknown-linux-musl/lib/libpcap.a.
# The pcap crate declares libpcap's functions itself, so no headers are installed. The
# configure options are written next to the library, so changing them rebuilds it.
build_libpcap() {
    local cache=$1
    local target=aarch64-unknown-linux-musl
    local build="$cache/build-$target"
    rm -rf "$build" "${cache:?}/$target"
    mkdir -p "$build/kernel-include" "$cache/$target"

    # musl's compiler wrapper searches only musl's headers, and libpcap also needs the Linux
    # UAPI headers. Debian's linux-libc-dev-arm64-cross has them among glibc's headers, so
    # only the three kernel folders are linked in, keeping glibc's headers out of the build.
    local folder
    for folder in linux asm asm-generic; do
        ln -s "/usr/aarch64-linux-gnu/include/$folder" "$build/kernel-include/$folder"
    done

    # The Makefile passes CPPFLAGS to some objects only, so the include folder goes in CFLAGS.
    (
        cd "$build" &&
            CC=aarch64-linux-musl-gcc AR=aarch64-linux-gnu-ar RANLIB=aarch64-linux-gnu-ranlib \
                CFLAGS="-O2 -isystem $build/kernel-include" \
                "$cache/src/configure" --prefix="$cache/$target" "${libpcap_options[@]}"
    )
    make -C "$build" -j"$(nproc)" libpcap.a
    make -C "$build" install-archive

    printf '%s\n' "${libpcap_options[@]}" >"$cache/$target/configure-options"
    rm -rf "$build"
}

# Exports the pcap crate's variables for TARGET, first building the static libpcap for the
# musl target when the cache lacks it or was built with other options.
prepare_libpcap() {
    local target=$1

    # Without LIBPCAP_VER the pcap crate's build script loads the host's libpcap to read the
    # version, and assumes the newest API it supports when that fails.
    export LIBPCAP_VER=$LIBPCAP_VERSION
    [[ $target == aarch64-unknown-linux-musl ]] || return 0

    local cache
    cache=$(libpcap_cache)
    if [[ ! -f $cache/src/VERSION ]]; then
        step "fetch Debian's libpcap $LIBPCAP_VERSION source" fetch_libpcap_source
    fi
    if [[ ! -f $cache/$target/lib/libpcap.a ]] ||
        ! printf '%s\n' "${libpcap_options[@]}" | cmp -s - "$cache/$target/configure-options"; then
        step "build static libpcap $LIBPCAP_VERSION for $target" build_libpcap "$cache"
    fi

    # The pcap crate links -lpcap from this folder, which holds only the static library.
    export LIBPCAP_LIBDIR=$cache/$target/lib
}
