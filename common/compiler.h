/* compiler.h: attribute shorthands shared by every module. */
#ifndef NTS_COMPILER_H
#define NTS_COMPILER_H

#define NTS_WUR __attribute__((warn_unused_result))
#define NTS_UNUSED __attribute__((unused))
#define NTS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NTS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
