#!/bin/sh
# tools/dist.sh: the release's source archive, which the versioned
# rockspec's source.url points at, and the source rock built from it.
#
#   sh tools/dist.sh [OUTDIR]          (make dist: OUTDIR is build/dist)
#
# For the one lua-acmpca-V-R.rockspec of the checkout it writes
#   OUTDIR/lua-acmpca-V.tar.gz      `git archive` of HEAD: the committed files
#                                   only (specs, fixtures and fuzz seeds
#                                   included: `luarocks test` runs spec/run.sh),
#                                   under lua-acmpca-V/, every file dated at
#                                   the commit, gzip -n: one commit gives one
#                                   archive, byte for byte
#   OUTDIR/lua-acmpca-V-R.src.rock  the rockspec (as committed) and that
#                                   archive: what `luarocks pack` would make
#                                   once the archive is published, and what
#                                   `luarocks build` installs from offline
# and prints their paths.  It refuses a rockspec whose source.url does not
# end in that archive's name or whose source.dir is not its top directory.
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/dist}

rockspec=""
for f in lua-acmpca-*-*.rockspec; do
    [ "$f" = lua-acmpca-scm-1.rockspec ] && continue
    [ -z "$rockspec" ] || { echo "dist: more than one versioned rockspec" >&2; exit 1; }
    rockspec=$f
done
[ -n "$rockspec" ] || { echo "dist: no versioned rockspec" >&2; exit 1; }
vr=${rockspec#lua-acmpca-}
vr=${vr%.rockspec}
v=${vr%-*}
name=lua-acmpca-$v

# The rockspec must name this archive and its top directory.
src=$(ROCKSPEC=$rockspec lua5.4 -e 'local t = {}
    assert(loadfile(os.getenv("ROCKSPEC"), "t", t))()
    print(t.source.url); print(t.source.dir)')
url=$(echo "$src" | sed -n 1p)
dir=$(echo "$src" | sed -n 2p)
if [ "${url##*/}" != "$name.tar.gz" ] || [ "$dir" != "$name" ]; then
    echo "dist: $rockspec: source.url must end in /$name.tar.gz and source.dir be" \
        "\"$name\" (got $url, $dir)" >&2
    exit 1
fi
git cat-file -e "HEAD:$rockspec" 2>/dev/null ||
    { echo "dist: $rockspec is not committed" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
git archive --format=tar --prefix="$name/" HEAD | gzip -n -9 >"$out/$name.tar.gz.tmp"
mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"

# The source rock: a zip of the rockspec and the archive, dated at the commit.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
when=$(git log -1 --format=%ct HEAD)
git show "HEAD:$rockspec" >"$stage/$rockspec"
cp "$out/$name.tar.gz" "$stage/"
touch -d "@$when" "$stage/$rockspec" "$stage/$name.tar.gz"
rm -f "$out/lua-acmpca-$vr.src.rock"
(cd "$stage" && TZ=UTC zip -q -X -D "$out/lua-acmpca-$vr.src.rock" "$rockspec" "$name.tar.gz")

echo "$out/$name.tar.gz"
echo "$out/lua-acmpca-$vr.src.rock"
