# Sourced by the set-up scripts: the one way they install Debian packages.
#
#   apt_install [--fresh-lists] [--recommends] PKG...
#
# installs those of the packages that are missing (dpkg -s), nothing when none is.
# The package lists are fetched when there are none, or always with --fresh-lists (they
# may be stale on a fresh machine); --recommends installs recommended packages too.
# Every apt call waits on /tmp/apt.lock: other set-up runs on a shared machine may use
# apt at the same time. Runs apt through sudo when not root.

apt_get() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

apt_install() {
    local fresh=0 recommends=(--no-install-recommends) missing=() pkg
    while [ $# -gt 0 ]; do
        case "$1" in
            --fresh-lists) fresh=1 ;;
            --recommends) recommends=() ;;
            *) break ;;
        esac
        shift
    done
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    echo "apt: installing ${missing[*]}" >&2
    if [ "$fresh" -eq 1 ] \
        || [ -z "$(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null)" ]; then
        apt_get update -qq
    fi
    apt_get install -y -qq "${recommends[@]}" "${missing[@]}" >/dev/null
}
