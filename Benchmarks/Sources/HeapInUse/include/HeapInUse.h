#ifndef CALLWATCH_HEAP_IN_USE_H
#define CALLWATCH_HEAP_IN_USE_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back (glibc `mallinfo2`: `uordblks` + `hblkhd`, i.e. small
/// chunks in use plus mmapped blocks), including each chunk's header and rounding; 0 where unavailable.
size_t callwatch_heap_in_use(void);

#endif
