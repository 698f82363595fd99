# Downloads and unpacks the locked Debian packages of a board. Source it, do not run it.
# shellcheck shell=bash

# Prints the lock line of one package (name:architecture), or stops when it is not locked.
locked_line() {
    local line
    line=$(awk -v want="$1" '$1 == want { print; exit }' firmware/packages.lock)
    [[ -n $line ]] || die "$1 is not in firmware/packages.lock; run firmware/lock"
    echo "$line"
}

# Downloads every package of board/$1/packages into out/cache/debs at its locked version and
# checks its sha256. Packages already there with the right checksum are not downloaded again.
download_board_debs() {
    local board=$1 package line version sha256 file
    mkdir -p out/cache/debs
    for package in $(list_entries "board/$board/packages"); do
        line=$(locked_line "$package")
        read -r _ version sha256 <<<"$line"
        file=$(deb_path "$package")
        if [[ -f $file ]] && sha256sum --quiet -c <<<"$sha256  $file" 2>/dev/null; then
            continue
        fi

        # apt-get names the file name_version_architecture.deb with ':' written as %3a.
        (cd out/cache/debs && apt-get download -q "${package%:all}=$version" >&2) ||
            die "apt-get download ${package%:all}=$version failed; the locked version may have" \
                "left the mirror: run firmware/lock to take the current one"
        [[ -f $file ]] || die "apt-get downloaded ${package%:all}=$version but $file is missing"
        sha256sum --quiet -c <<<"$sha256  $file" ||
            die "$file does not match the sha256 in firmware/packages.lock"
    done
}

# Prints the cached .deb path of one locked package.
deb_path() {
    local line version
    line=$(locked_line "$1")
    read -r _ version _ <<<"$line"
    echo "out/cache/debs/${1%:*}_${version//:/%3a}_${1#*:}.deb"
}

# Unpacks one locked package into a folder.
extract_deb() {
    dpkg-deb -x "$(deb_path "$1")" "$2"
}
