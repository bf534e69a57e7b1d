#!/bin/sh
# tests/install/install_test.sh BUILD_DIR SRC_DIR WORK_DIR LIBDIR CMAKE CC GENERATOR [EXTRA_CFLAGS]
# Installs BUILD_DIR into WORK_DIR/prefix (cmake --install --prefix), then
# builds tests/install/hello.c outside the tree against that prefix, four
# ways: pkg-config (shared, and --static with libgreen.a), and the CMake
# package (green::green, green::green_static); runs each and checks its
# line. In a plain build, also with -fsanitize=address on copy stacks. Checks libgreen.so's SONAME, its symlinks, and that it exports the
# green_* API of green.h and nothing else. Exit 77 (skipped) without
# pkg-config, or when the build has no libgreen (no backend pair built).
# EXTRA_CFLAGS: the sanitizer flags of a sanitizer build, which its
# installed libraries need in the programs that link them.
set -u
build=$1 src=$2 work=$3 libdir=$4 cmake=$5 cc=$6 generator=$7 extra=${8:-}

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
skip() { echo "install_test: SKIPPED: $*"; exit 77; }

command -v pkg-config >/dev/null 2>&1 || skip "pkg-config is not installed (Debian: apt-get install pkg-config)"
[ -f "$build/runtime/green.pc" ] || skip "this build has no libgreen (no context + loop backend pair built; a ThreadSanitizer build builds none)"
for t in nm readelf; do
    command -v $t >/dev/null 2>&1 || skip "$t is not installed (Debian: binutils)"
done

rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
prefix=$work/prefix
lib=$prefix/$libdir
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install $build --prefix $prefix"; }
echo "install_test: installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's/^\.\//  /')

# ---- what is installed ----
for f in include/green.h "$libdir/libgreen.a" "$libdir/libgreen.so" "$libdir/pkgconfig/green.pc" \
         "$libdir/cmake/green/greenConfig.cmake" "$libdir/cmake/green/greenConfigVersion.cmake"; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
if [ -e "$build/lib/libgreen-preload.so" ]; then
    [ -e "$lib/libgreen-preload.so" ] || fail "libgreen-preload.so is built but not installed"
fi
n_pairs=$(ls "$lib" | grep -c '^libgreen-.*\.a$')
echo "install_test: $n_pairs other pair(s): $(cd "$lib" && ls libgreen-*.a 2>/dev/null | tr '\n' ' ')"

# ---- libgreen.so: SONAME, version, exports ----
real=$(readlink -f "$lib/libgreen.so")
case $(basename "$real") in libgreen.so.*.*.*) ;; *) fail "libgreen.so -> $real: not a versioned file" ;; esac
[ "$(readlink "$lib/libgreen.so")" = libgreen.so.0 ] || fail "libgreen.so does not point at libgreen.so.0"
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libgreen.so.0 ] || fail "SONAME of libgreen.so is '$soname', not libgreen.so.0"
nm -D --defined-only "$real" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$work/exports" ||
    fail "nm -D $real"
bad=$(grep -v '^green_' "$work/exports"; grep -E '^green_(_|ctx_|loop_|stack_)' "$work/exports")
[ -z "$bad" ] || fail "libgreen.so exports more than the green_* API:
$bad"
# Every exported function is declared in green.h, and every function
# green.h declares is exported.
# (comments and typedefs dropped: green_fn is a function type, not a function)
tr '\n' '\a' <"$prefix/include/green.h" | sed 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/||g; s|typedef[^;]*;||g' |
    tr '\a' '\n' | grep -o 'green_[a-z0-9_]*(' | tr -d '(' | sort -u >"$work/declared"
missing=$(comm -13 "$work/exports" "$work/declared")
extra_syms=$(comm -23 "$work/exports" "$work/declared")
[ -z "$missing" ] || fail "green.h functions libgreen.so does not export: $missing"
[ -z "$extra_syms" ] || fail "libgreen.so exports symbols green.h does not declare: $extra_syms"
echo "install_test: libgreen.so: SONAME $soname, $(wc -l <"$work/exports") symbols exported, all of green.h"

# ---- the out-of-tree builds ----
expect='hello from libgreen: 5 green threads, sum 15, backends '
check_run() {   # NAME PROGRAM [shared|static]
    out=$(LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 20 "$2" 2>"$work/$1.err") ||
        { cat "$work/$1.err" >&2; fail "$1: $2 exited non-zero"; }
    case $out in "$expect"*) ;; *) fail "$1: printed '$out'" ;; esac
    needed=$(readelf -d "$2" | grep 'NEEDED.*libgreen' || true)
    if [ "$3" = shared ]; then
        case $needed in *libgreen.so.0*) ;; *) fail "$1: $2 does not need libgreen.so.0" ;; esac
        LD_LIBRARY_PATH=$lib ldd "$2" 2>/dev/null | grep -q "=> $lib/libgreen.so.0" ||
            fail "$1: $2 does not load $lib/libgreen.so.0"
    else
        [ -z "$needed" ] || fail "$1: $2 needs $needed (meant to link libgreen.a)"
    fi
    echo "install_test: $1: ok: $out"
}

export PKG_CONFIG_PATH="$lib/pkgconfig"
pc_cflags=$(pkg-config --cflags green) && pc_libs=$(pkg-config --libs green) ||
    fail "pkg-config --cflags --libs green"
echo "install_test: pkg-config --cflags --libs green: $pc_cflags $pc_libs"
# shellcheck disable=SC2086
"$cc" $extra -o "$work/hello-pc" "$src/hello.c" $pc_cflags $pc_libs ||
    fail "cc hello.c \$(pkg-config --cflags --libs green)"
check_run pkg-config "$work/hello-pc" shared

# A program built with AddressSanitizer on a plain libgreen, its green
# threads on one copied stack: the images carry its frames' redzones, which
# ASan's memcpy interceptor reported until libgreen unpoisoned them through
# the process's ASan.
if [ -z "$extra" ]; then
    # shellcheck disable=SC2086
    "$cc" -fsanitize=address -o "$work/hello-asan" "$src/hello.c" $pc_cflags $pc_libs ||
        fail "cc -fsanitize=address hello.c \$(pkg-config --cflags --libs green)"
    export GREEN_STACKS=copy:1
    check_run pkg-config-asan-copy-stacks "$work/hello-asan" shared
    unset GREEN_STACKS
fi

pc_static=$(pkg-config --static --cflags --libs green) || fail "pkg-config --static --cflags --libs green"
echo "install_test: pkg-config --static --cflags --libs green: $pc_static"
# -l:libgreen.a: the archive itself, though libgreen.so sits beside it.
pc_static=$(echo " $pc_static " | sed 's/ -lgreen / -l:libgreen.a /')
# shellcheck disable=SC2086
"$cc" $extra -o "$work/hello-pc-static" "$src/hello.c" $pc_static ||
    fail "cc hello.c \$(pkg-config --static --cflags --libs green), with libgreen.a"
check_run pkg-config-static "$work/hello-pc-static" static

for link in shared static; do
    b=$work/cmake-$link
    "$cmake" -S "$src" -B "$b" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" -DGREEN_LINK=$link \
        >"$b.log" 2>&1 || { cat "$b.log" >&2; fail "find_package(green) project ($link): configure"; }
    "$cmake" --build "$b" >>"$b.log" 2>&1 || { cat "$b.log" >&2; fail "find_package(green) project ($link): build"; }
    check_run "find_package-$link" "$b/hello" $link
done
echo "install_test: all ok"
