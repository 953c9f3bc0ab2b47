// Keeping freed memory for reuse: the process-wide malloc settings a LibTorch CPU workload wants.
//
// The network's forward pass allocates and frees tens of tensors of 1-32 MiB per 256² tile. With glibc's defaults
// each large block is a fresh mmap (or a fresh thread-arena heap) whose pages fault in one by one, and the freed
// memory goes straight back to the kernel: measured on the shipped photo model (2-core VM), a 768×512 decode spent
// two thirds of its time in page faults (24.9 s; 8.2 s with these settings). ReuseFreedMemory sets one arena for
// all threads, the largest mmap threshold glibc allows (32 MiB) and a trim threshold of 1 GiB, so that freed blocks
// stay in the process and the next tile reuses them. The cost: up to 1 GiB of freed memory stays mapped until the
// process exits (peak RSS is unchanged).
//
// Call it once at the start of main(), before any thread starts (the dcodec command does, `dcodec bench`
// included); a library host may do the same (dcodec_reuse_freed_memory in the C API). Without glibc it does nothing.
#ifndef DCODEC_BASE_ALLOCATOR_H_
#define DCODEC_BASE_ALLOCATOR_H_

namespace dcodec {

// True if the settings took effect (false without glibc, or if glibc refused one).
bool ReuseFreedMemory();

}  // namespace dcodec

#endif  // DCODEC_BASE_ALLOCATOR_H_
