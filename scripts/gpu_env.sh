# Sourced by scripts/gpu_train.sh and scripts/gpu_check.sh on a lent GPU machine (CUDA PyTorch, CMake and ninja, no
# apt, no -dev packages). gpu_env DEBS: unpacks the Debian packages carried in DEBS into $root, sets torch_prefix
# (the torch package's CMake prefix), exports LD_LIBRARY_PATH for those packages and LibTorch, prints the torch and
# CUDA versions, and sets gpu_cmake_paths, the CMake arguments that find all of it.
gpu_env() {
  root=/tmp/dcodec-debroot
  mkdir -p "$root"
  local f
  for f in "$1"/*.deb; do
    if command -v dpkg >/dev/null; then dpkg -x "$f" "$root"; else
      (t=$(mktemp -d) && cd "$t" && ar x "$OLDPWD/$f" && tar -xf data.tar.* -C "$root" && rm -rf "$t"); fi
  done
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))'):${LD_LIBRARY_PATH:-}"
  gpu_cmake_paths=(-DCMAKE_PREFIX_PATH="$torch_prefix;$root/usr" -DCMAKE_INCLUDE_PATH="$root/usr/include"
                   -DCMAKE_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu")
}
