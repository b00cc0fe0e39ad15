#!/usr/bin/env bash
# fake-store.sh — stands in for `aws` and `rclone` (linked under those names
# on PATH) so that ci/publish-s3 and the CI examples (tests/ci/
# test_ci_examples.sh, whose sharded variants also download with `aws s3
# cp s3://… FILE`) run without a network. Only the commands
# and options publish-s3 uses are understood; anything else fails, as the
# real tools fail on an unknown option. Objects live in $FAKE_STORE/<bucket>/
# <key>, their headers in $FAKE_STORE.meta/<bucket>/<key> ("Cache-Control:
# …" and "Content-Type: …" lines). Every write or delete appends "PUT key" or
# "DELETE key" to $FAKE_STORE.log and leaves a hard-linked snapshot of the
# store in $FAKE_STORE.snaps/NNNN (the state at that moment).
set -u
STORE=${FAKE_STORE:?FAKE_STORE is not set}
META=$STORE.meta
LOG=$STORE.log
SNAPS=$STORE.snaps
mkdir -p "$STORE" "$META" "$SNAPS"
tool=$(basename "$0")
echo "CALL $tool $*" >>"$LOG"

die() { echo "fake $tool: $*" >&2; exit 2; }

snapshot() {
    local n
    n=$(find "$SNAPS" -mindepth 1 -maxdepth 1 | wc -l)
    cp -al "$STORE" "$SNAPS/$(printf %04d "$n")"
}

# put SRC KEY CACHE TYPE
put() {
    [ -f "$1" ] || die "$1: no such file"
    if [ "$dry" -eq 1 ]; then
        echo "(dryrun) upload: $1 to $2"
        return
    fi
    mkdir -p "$(dirname "$STORE/$2")" "$(dirname "$META/$2")"
    cp "$1" "$STORE/$2.part" && mv "$STORE/$2.part" "$STORE/$2"
    printf 'Cache-Control: %s\nContent-Type: %s\n' "$3" "$4" >"$META/$2"
    echo "PUT $2" >>"$LOG"
    snapshot
}

del() {
    [ "$dry" -eq 1 ] && { echo "(dryrun) delete: $1"; return; }
    [ -f "$STORE/$1" ] || die "delete $1: no such key"
    rm -f "$STORE/$1" "$META/$1"
    echo "DELETE $1" >>"$LOG"
    snapshot
}

# sync_dir SRC KEYPREFIX: the files of SRC not excluded, and not present with
# the same size when --size-only is given (else also when not older).
sync_dir() {
    local src=$1 pre=$2 rel f x skip
    [ -d "$src" ] || die "$src: not a folder"
    while IFS= read -r f; do
        rel=${f#"$src"/}
        skip=0
        for x in "${excludes[@]}"; do
            # shellcheck disable=SC2053
            [[ $rel == $x ]] && skip=1
        done
        [ "$skip" -eq 0 ] || continue
        if [ -f "$STORE/$pre/$rel" ] && [ "$(stat -c %s "$f")" = "$(stat -c %s "$STORE/$pre/$rel")" ] &&
            { [ "$size_only" -eq 1 ] || [ "$STORE/$pre/$rel" -nt "$f" ]; }; then
            continue
        fi
        put "$f" "$pre/$rel" "$cache" "$type"
    done < <(find "$src" -type f | LC_ALL=C sort)
}

cache="" type="" dry=0 size_only=0 ignore_times=0 recursive=0 files_only=0 guess=1
excludes=()
args=()

if [ "$tool" = aws ]; then
    [ "${1:-}" = s3 ] || die "only 'aws s3' is faked"
    cmd=${2:-}
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --cache-control) cache=$2; shift 2 ;;
        --content-type) type=$2; shift 2 ;;
        --exclude) excludes+=("$2"); shift 2 ;;
        --endpoint-url | --region | --profile) shift 2 ;;
        --no-guess-mime-type) guess=0; shift ;;
        --size-only) size_only=1; shift ;;
        --dryrun) dry=1; shift ;;
        --recursive) recursive=1; shift ;;
        --only-show-errors) shift ;;
        # As the real CLI: rm and ls show no progress to turn off.
        --no-progress) case $cmd in cp | sync) shift ;; *) die "Unknown options: $1" ;; esac ;;
        --page-size) shift 2 ;;
        -*) die "Unknown options: $1" ;;
        *) args+=("$1"); shift ;;
        esac
    done
    key() { case $1 in s3://*) echo "${1#s3://}" ;; *) die "$1: not an s3:// URL" ;; esac; }
    # The real CLI guesses a type from the name unless told not to.
    [ -n "$type" ] || { [ "$guess" -eq 1 ] && type=guessed || type=binary/octet-stream; }
    case $cmd in
    cp)
        [ ${#args[@]} -eq 2 ] || die "cp SRC DST"
        case ${args[0]} in
        s3://*) # download, as the real CLI: a missing key fails (exit 1)
            k=$(key "${args[0]}")
            [ -f "$STORE/$k" ] || {
                echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \"${k#*/}\" does not exist" >&2
                exit 1
            }
            mkdir -p "$(dirname "${args[1]}")" && cp "$STORE/$k" "${args[1]}" ;;
        *) put "${args[0]}" "$(key "${args[1]}")" "$cache" "$type" ;;
        esac ;;
    sync)
        [ ${#args[@]} -eq 2 ] || die "sync SRC DST"
        case ${args[0]} in
        s3://*) # download: what the folder lacks or has with another size
            k=$(key "${args[0]%/}")
            mkdir -p "${args[1]}"
            [ -d "$STORE/$k" ] || exit 0
            (cd "$STORE/$k" && find . -type f | sed 's|^\./||') | while IFS= read -r f; do
                [ -f "${args[1]}/$f" ] && [ "$(stat -c %s "$STORE/$k/$f")" = "$(stat -c %s "${args[1]}/$f")" ] &&
                    continue
                mkdir -p "$(dirname "${args[1]}/$f")" && cp "$STORE/$k/$f" "${args[1]}/$f"
            done ;;
        *) sync_dir "${args[0]%/}" "$(key "${args[1]}")" ;;
        esac ;;
    rm) [ ${#args[@]} -eq 1 ] || die "rm KEY"; del "$(key "${args[0]}")" ;;
    ls)
        [ ${#args[@]} -eq 1 ] && [ "$recursive" -eq 1 ] || die "only ls --recursive URL"
        k=$(key "${args[0]}")
        bucket=${k%%/*}
        [ -d "$STORE/$bucket" ] || exit 1
        (cd "$STORE/$bucket" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) |
            while IFS= read -r f; do
                case $bucket/$f in "$k"*) printf '2024-05-01 12:00:00 %10d %s\n' \
                    "$(stat -c %s "$STORE/$bucket/$f")" "$f" ;; esac
            done
        ;;
    *) die "aws s3 $cmd is not faked" ;;
    esac
elif [ "$tool" = rclone ]; then
    cmd=${1:-}
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --header-upload)
            case $2 in
            "Cache-Control: "*) cache=${2#Cache-Control: } ;;
            "Content-Type: "*) type=${2#Content-Type: } ;;
            *) die "unexpected header $2" ;;
            esac
            shift 2 ;;
        --exclude) excludes+=("$2"); shift 2 ;;
        --size-only) size_only=1; shift ;;
        --ignore-times) ignore_times=1; shift ;;
        --dry-run) dry=1; shift ;;
        -R) recursive=1; shift ;;
        --files-only) files_only=1; shift ;;
        -*) die "unknown flag: $1" ;;
        *) args+=("$1"); shift ;;
        esac
    done
    key() { case $1 in ?*:*) echo "${1#*:}" ;; *) die "$1: not a remote:path" ;; esac; }
    [ -n "$type" ] || type=guessed
    case $cmd in
    copy) sync_dir "${args[0]%/}" "$(key "${args[1]}")" ;;
    copyto)
        k=$(key "${args[1]}")
        # The real rclone, finding the same bytes under another modification
        # time, only sets the time: a copy within the store that drops
        # Cache-Control. --ignore-times uploads anyway.
        if [ "$ignore_times" -eq 0 ] && [ "$dry" -eq 0 ] && cmp -s "${args[0]}" "$STORE/$k"; then
            sed -i '/^Cache-Control:/d' "$META/$k"
            echo "COPY $k" >>"$LOG"
        else
            put "${args[0]}" "$k" "$cache" "$type"
        fi ;;
    deletefile) del "$(key "${args[0]}")" ;;
    lsf)
        [ "$recursive" -eq 1 ] && [ "$files_only" -eq 1 ] || die "only lsf -R --files-only"
        k=$(key "${args[0]}")
        [ -d "$STORE/$k" ] || exit 0
        (cd "$STORE/$k" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
        ;;
    *) die "rclone $cmd is not faked" ;;
    esac
else
    die "run me as aws or rclone"
fi
