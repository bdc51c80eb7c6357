#!/bin/sh
# check-natives.sh DIR...: every shared library the unpacked natives under DIR link must be found (ldd), with the
# directories under DIR on the library path as JavaCPP loads them. The NVIDIA driver's libcuda.so.1 is the one
# exception: the NVIDIA container toolkit mounts it into the container at run time. Of the CUDA bindings only those
# the engine loads are checked (the CUDA runtime and the libraries libtorch's CUDA part links).
# Dockerfile.cuda runs it on /opt/javacpp, so an image that lacks a CUDA or cuDNN library fails to build, without a GPU.
set -eu
[ $# -gt 0 ] || { echo "usage: check-natives.sh DIR..." >&2; exit 2; }
command -v ldd > /dev/null || { echo "check-natives.sh: ldd not found" >&2; exit 2; }
libs=$(find -L "$@" -name '*.so*' -type f | grep -v -E '/org/bytedeco/cuda/[^/]+/libjni' || true)
libs="$libs
$(find -L "$@" -type f -path '*/org/bytedeco/cuda/*' \
    \( -name libjnicudart.so -o -name libjnicublas.so -o -name libjnicudnn.so -o -name libjnicusparse.so \
       -o -name libjnicusolver.so -o -name libjnicupti.so \) || true)"
[ -n "$(echo "$libs" | tr -d '[:space:]')" ] || { echo "check-natives.sh: no shared libraries under $*" >&2; exit 1; }
path=$(echo "$libs" | sed -n 's#/[^/]*$##p' | sort -u | tr '\n' ':')
missing=$(echo "$libs" | while read -r lib; do
  [ -n "$lib" ] && LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:-}" ldd "$lib" 2>/dev/null | awk '/=> not found/ {print $1}'
done | sort -u | grep -v -x 'libcuda.so.1' || true)
if [ -n "$missing" ]; then
  echo "check-natives.sh: not found:" $missing >&2
  exit 1
fi
echo "check-natives.sh: every library the natives link is here ($(echo "$libs" | grep -c .) checked; libcuda.so.1 comes with the driver)"
