# The optional corosync and Pacemaker layer of the guest. Sourced by
# build-guest (which defines DEBS, FK_GUEST, PCMK_PKGS, say, apt_download and
# newest_deb), not run.
# shellcheck shell=bash
#
# pacemaker_layer builds $FK_GUEST/pacemaker.img: a gzip'd cpio with the
# programs, libraries and data of PCMK_PKGS (unpacked with dpkg -x, never
# installed on the host), the shared libraries they need that the base
# initramfs lacks (from the host, same Debian release), the users and
# directories Pacemaker expects, and fk-pacemaker. run-in-guest --pacemaker
# appends it to the base initramfs; the kernel unpacks both. Rebuilt when
# the base, the package set or the files here change.

pacemaker_layer() {
    local p missing=() list=() stamp t0 stage root elfs libs lib dst pad
    for p in "${PCMK_PKGS[@]}"; do
        compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    if ((${#missing[@]})); then
        say "downloading ${missing[*]}"
        apt_download "${missing[@]}"
    fi
    for p in "${PCMK_PKGS[@]}"; do list+=("$(newest_deb "$p")"); done
    stamp=$( {
        cat "$FK_GUEST/stamp"
        printf '%s\n' "${list[@]}"
        find "$FK_TESTBED_DIR/pacemaker" -type f | LC_ALL=C sort | xargs cat
    } | sha256sum | cut -c1-16)
    if ((!force)) && [[ -f "$FK_GUEST/pacemaker.stamp" && -f "$FK_GUEST/pacemaker.img" &&
          "$(cat "$FK_GUEST/pacemaker.stamp")" == "$stamp" ]]; then
        say "pacemaker layer up to date"
        return 0
    fi
    t0=$EPOCHREALTIME
    say "building the pacemaker layer"
    stage=$FK_CACHE/stage-pcmk
    root=$FK_CACHE/root-pcmk.tmp
    rm -rf "$stage" "$root"
    mkdir -p "$stage" "$root"
    for p in "${list[@]}"; do dpkg -x "$DEBS/$p" "$stage"; done

    # Programs, daemons, libraries and Pacemaker's schemas; not the
    # documentation, units, OCF agents, or knet's compression and crypto
    # plugins (the bed's ring uses neither).
    for p in usr/bin usr/sbin usr/lib usr/share/pacemaker; do
        [[ -d "$stage/$p" ]] || continue
        (cd "$stage" && find "$p" \( -type f -o -type l \) \
            ! -path 'usr/lib/systemd/*' ! -path 'usr/lib/ocf/*' \
            ! -path '*/kronosnet/*' ! -path '*/pkgconfig/*' \
            -print0 | cpio -0 -pdm --quiet "$root")
    done

    # Shared libraries the layer's programs need and the base lacks.
    elfs=$(find "$root" -type f \( -perm -u+x -o -name '*.so*' \) | while read -r p; do
        [[ "$(head -c4 "$p" | od -An -c | tr -d ' ')" == 177ELF ]] && echo "$p"; done)
    # shellcheck disable=SC2086
    libs=$(fk_ldd_all "$stage/usr/lib/x86_64-linux-gnu:$stage/usr/lib" $elfs | sort -u)
    if grep -q 'not found' <<<"$libs"; then
        fk_die "libraries not found for the pacemaker layer: $(grep 'not found' <<<"$libs" | awk '{print $1}' | sort -u | tr '\n' ' ')"
    fi
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        case "$lib" in
            "$stage"/*) dst=${lib#"$stage"} ;;
            *) dst=$lib ;;
        esac
        [[ -e "$root$dst" ]] && continue
        grep -qxF "${dst#/}" "$FK_GUEST/manifest" && continue
        mkdir -p "$root$(dirname "$dst")"
        cp -L "$lib" "$root$dst"
    done < <(awk '/=> \//{print $3} /^\t\/[^ ]+ \(0x/{print $1}' <<<"$libs" | sort -u)

    # The users and groups of the Debian packages' maintainer scripts, on top
    # of the base's (the later archive's files replace the earlier's).
    mkdir -p "$root/etc" "$root/usr/sbin"
    printf 'root:x:0:0:root:/root:/bin/sh\nhacluster:x:100:101:Pacemaker:/var/lib/pacemaker:/bin/false\n' \
        > "$root/etc/passwd"
    printf 'root:x:0:\ndisk:x:6:\nhaclient:x:101:hacluster\n' > "$root/etc/group"
    printf 'passwd: files\ngroup: files\nhosts: files\n' > "$root/etc/nsswitch.conf"
    install -m 755 "$FK_TESTBED_DIR/pacemaker/fk-pacemaker" "$root/usr/sbin/fk-pacemaker"

    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
        gzip -1 > "$FK_CACHE/pacemaker.tmp"
    pad=$(( (4 - $(stat -c %s "$FK_CACHE/pacemaker.tmp") % 4) % 4 ))
    head -c "$pad" /dev/zero >> "$FK_CACHE/pacemaker.tmp"
    mv "$FK_CACHE/pacemaker.tmp" "$FK_GUEST/pacemaker.img"
    echo "$stamp" > "$FK_GUEST/pacemaker.stamp"
    rm -rf "$stage" "$root"
    say "pacemaker layer ready: $FK_GUEST/pacemaker.img ($(( $(stat -c %s "$FK_GUEST/pacemaker.img") / 1024 )) KiB, $(fk_elapsed "$t0" "$EPOCHREALTIME") s)"
}
