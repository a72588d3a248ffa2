/* SPDX-License-Identifier: MIT */
/*
 * banned.h - functions scribe never calls (git's trick). Every .c file
 * includes it after all other headers, so a use is a compile error;
 * `make lint` checks that it is there.
 */
#ifndef SCRIBE_BANNED_H
#define SCRIBE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
