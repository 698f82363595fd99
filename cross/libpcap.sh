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
    # version, and assumes the newest API it knows when that fails.
    export LIBPCAP_VER=$LIBPCAP_VERSION
    [[ $target == aarch64-unknown-linux-musl ]] || return 0

    local cache
    cache=$(libpcap_cache)
    [[ -f $cache/src/VERSION ]] || die "no libpcap source in $cache/src; run cross/setup as root"
    if [[ ! -f $cache/$target/lib/libpcap.a ]] ||
        ! printf '%s\n' "${libpcap_options[@]}" | cmp -s - "$cache/$target/configure-options"; then
        step "build static libpcap $LIBPCAP_VERSION for $target" build_libpcap "$cache"
    fi

    # The pcap crate links -lpcap from this folder, which holds only the static library.
    export LIBPCAP_LIBDIR=$cache/$target/lib
}
