/* glibc's malloc_trim and mallopt (malloc.h is not in Swift's Glibc module). */
#if defined(__linux__)
#include <malloc.h>
#endif
