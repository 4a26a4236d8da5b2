#!/usr/bin/env bash
# Build the Debian package: target/deb/fencekit_VERSION_ARCH.deb.
#
# Run by `make deb` after the release build and the completions. It runs
# `make install DESTDIR=STAGE PREFIX=/usr MAN_GZIP=1` into a fresh staging
# tree, adds the copyright file and changelog (changelog.gz: a native package) under
# /usr/share/doc/fencekit, and DEBIAN/ with control (Depends computed by
# dpkg-shlibdeps from the binaries), conffiles (everything under /etc:
# the sample configurations /etc/fencekit/*.toml.example) and md5sums,
# then `dpkg-deb --build --root-owner-group`. No maintainer scripts: the
# heartbeatd unit is installed and enabled nowhere.
#
# Environment: TARGET_DIR (default target), DEB_MAINTAINER (default the
# project's address), MAKE.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${TARGET_DIR:-target}
MAKE=${MAKE:-make}
MAINTAINER=${DEB_MAINTAINER:-fencekit maintainers <fencekit@example.invalid>}
VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
ARCH=$(dpkg --print-architecture)
[[ -n "$VERSION" ]] || { echo "mkdeb: no version in Cargo.toml [workspace.package]" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
    command -v "$tool" >/dev/null || {
        echo "mkdeb: $tool is missing (scripts/setup-deps.sh installs it)" >&2
        exit 1
    }
done

work=$(realpath -m "$TARGET_DIR/deb/build")
stage="$work/fencekit"
rm -rf "$work"
mkdir -p "$stage/DEBIAN"
umask 022

"$MAKE" --no-print-directory install DESTDIR="$stage" PREFIX=/usr MAN_GZIP=1 \
    CARGO_TARGET_DIR="$TARGET_DIR" >/dev/null

# The release profile strips symbols; strip the rest as dh_strip does.
for p in "$stage"/usr/sbin/*; do
    [[ -L "$p" ]] && continue
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$p"
done

# The version has no Debian revision (the packaging lives in the source
# tree): a native package, whose changelog is changelog.gz.

# A reproducible date: the last commit's, or now outside git.
if date_s=$(git log -1 --format=%ct 2>/dev/null) && [[ -n "$date_s" ]]; then
    commit=$(git rev-parse --short HEAD)
else
    date_s=$(date +%s) commit=unknown
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$date_s}
date_rfc=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")

doc="$stage/usr/share/doc/fencekit"
install -d -m 755 "$doc"
install -m 644 packaging/deb/copyright "$doc/copyright"
sed -e "s|@VERSION@|$VERSION|g" -e "s|@COMMIT@|$commit|g" \
    -e "s|@MAINTAINER@|$MAINTAINER|g" -e "s|@DATE@|$date_rfc|g" \
    packaging/deb/changelog.in | gzip -9n >"$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

# Depends: dpkg-shlibdeps wants a debian/control naming the package.
mkdir -p "$work/src/debian"
printf 'Source: fencekit\n\nPackage: fencekit\nArchitecture: any\n' >"$work/src/debian/control"
bins=()
for p in "$stage"/usr/sbin/*; do [[ -L "$p" ]] || bins+=("$p"); done
depends=$(cd "$work/src" && dpkg-shlibdeps -O "${bins[@]}" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')
[[ -n "$depends" ]] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$VERSION|g" -e "s|@ARCH@|$ARCH|g" -e "s|@MAINTAINER@|$MAINTAINER|g" \
    -e "s|@SIZE@|$size|g" -e "s|@DEPENDS@|$depends|g" \
    packaging/deb/control.in >"$stage/DEBIAN/control"

(cd "$stage" && find etc -type f | sort | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
    | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

# Timestamps from SOURCE_DATE_EPOCH, for a reproducible archive.
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb="$TARGET_DIR/deb/fencekit_${VERSION}_${ARCH}.deb"
dpkg-deb --build --root-owner-group -Zxz "$stage" "$deb" >/dev/null
echo "mkdeb: $deb"
echo "mkdeb: Depends: $depends"
