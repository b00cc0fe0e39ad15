# tests/e2e/fixtures.sh — sourced by the end-to-end tests: a release history
# made on the fly, with modified, added, deleted, renamed, executable,
# symlinked, empty, unicode-named files and deep folders.

# make_releases DIR: DIR/1.0.0 1.1.0 1.2.0-rc.1 1.2.0 1.10.0
make_releases() {
    local R=$1
    mkdir -p "$R"
    local v=$R/1.0.0
    mkdir -p "$v/bin" "$v/lib/deep/er/still" "$v/share/empty-dir" "$v/data"
    head -c 300000 /dev/urandom >"$v/bin/app"
    chmod 755 "$v/bin/app"
    seq 1 20000 >"$v/lib/big.txt"
    head -c 50000 /dev/urandom >"$v/lib/module.so"
    printf 'deep\n' >"$v/lib/deep/er/still/leaf.txt"
    : >"$v/share/empty.txt"
    printf 'caf\xc3\xa9\n' >"$v/share/caf$(printf '\xc3\xa9').txt"
    ln -s ../lib/big.txt "$v/share/link-to-big"
    head -c 40000 /dev/urandom >"$v/data/old-name.bin"
    printf 'will be deleted\n' >"$v/data/gone.txt"
    printf 'First release.\n' >"$R/1.0.0.md"

    # 1.1.0: modified binary, modified text, renamed file, deleted file, new file.
    cp -a "$v" "$R/1.1.0"
    v=$R/1.1.0
    printf 'patch' | dd of="$v/bin/app" bs=1 seek=1000 conv=notrunc status=none
    head -c 2000 /dev/urandom >>"$v/bin/app"
    sed -i 's/^1234$/one-two-three-four/' "$v/lib/big.txt"
    mv "$v/data/old-name.bin" "$v/data/new-name.bin"
    rm "$v/data/gone.txt"
    printf 'new in 1.1\n' >"$v/data/added.txt"

    # 1.2.0-rc.1 (a pre-release) and 1.2.0: more edits; 1.2.0 makes a file executable.
    cp -a "$v" "$R/1.2.0-rc.1"
    v=$R/1.2.0-rc.1
    printf 'rc' | dd of="$v/bin/app" bs=1 seek=5000 conv=notrunc status=none
    seq 20001 20100 >>"$v/lib/big.txt"
    cp -a "$v" "$R/1.2.0"
    v=$R/1.2.0
    printf 'final' | dd of="$v/bin/app" bs=1 seek=9000 conv=notrunc status=none
    chmod 755 "$v/lib/deep/er/still/leaf.txt"
    printf 'Release 1.2.0: faster.\n' >"$R/1.2.0.md"

    # 1.10.0: sorts after 1.2.0; changes the module.
    cp -a "$v" "$R/1.10.0"
    v=$R/1.10.0
    printf 'mod' | dd of="$v/lib/module.so" bs=1 seek=100 conv=notrunc status=none
}

# same_tree A B: byte-for-byte, modes and symlinks included.
same_tree() {
    diff -r --no-dereference "$1" "$2" >/dev/null 2>&1 || return 1
    [ "$(cd "$1" && find . -printf '%p %y %m %l\n' | sort)" = \
      "$(cd "$2" && find . -printf '%p %y %m %l\n' | sort)" ]
}
