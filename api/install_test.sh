#!/usr/bin/env bash
# The installed package works for a user: `cmake --install` into a temporary prefix, then example.c built with
# find_package(dcodec) and with pkg-config, each run on the installed CIFAR model.
#   install_test.sh BUILD_DIR EXAMPLE_DIR
set -euo pipefail
build="$1"; example="$2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libdcodec.so' | head -1)")
model="$prefix/share/dcodec/models/cifar10.safetensors"
test -f "$prefix/include/dcodec.h" && test -f "$libdir/pkgconfig/dcodec.pc" && test -x "$prefix/bin/dcodec"
cmake -S "$example" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cmake/example" "$model"
cc "$example/example.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs dcodec) -o "$tmp/example_pc"
LD_LIBRARY_PATH="$libdir" "$tmp/example_pc" "$model" >/dev/null
echo "install_test: ok"
