/* SPDX-License-Identifier: MIT */
/*
 * machine.c - how fast the machine is at the three things the exports
 * and the bot wait on, printed beside the benchmarks so that figures
 * taken on different days can be compared:
 *
 *   bench machine mem_read_ns=95.1 page_fault_us=0.31 syscall_us=0.12
 *
 * mem_read_ns: one read from a random place of 256 MiB, each depending on
 * the last (what a B-tree walk or a hash table miss costs); page_fault_us:
 * the first write to a page of fresh memory; syscall_us: a system call
 * that does nothing (getppid). On the shared VM of the README's figures
 * the first was 400-500 ns on a day when every export took 2.5-3 times
 * as long as two weeks before (docs/performance.md).
 * Takes a few seconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_BYTES ((size_t)256 << 20)
#define READS 4000000
#define CALLS 200000

static volatile size_t sink; /* keeps the reads */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	size_t n = MEM_BYTES / sizeof(size_t), k = 0;
	size_t *next = malloc(MEM_BYTES);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	double t, read_ns, fault_us, call_us;
	unsigned char *fresh;

	if (!next) {
		fprintf(stderr, "machine: out of memory\n");
		return 1;
	}
	/* one cycle through every slot in a random order (Sattolo) */
	for (size_t i = 0; i < n; i++)
		next[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j, v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (size_t)(seed >> 33) % i;
		v = next[i];
		next[i] = next[j];
		next[j] = v;
	}
	t = now();
	for (int i = 0; i < READS; i++)
		k = next[k];
	read_ns = (now() - t) / READS * 1e9;
	sink = k;
	free(next);

	fresh = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED) {
		perror("machine: mmap");
		return 1;
	}
	t = now();
	for (size_t i = 0; i < MEM_BYTES; i += 4096)
		fresh[i] = 1;
	fault_us = (now() - t) / (double)(MEM_BYTES / 4096) * 1e6;
	munmap(fresh, MEM_BYTES);

	t = now();
	for (int i = 0; i < CALLS; i++)
		(void)getppid();
	call_us = (now() - t) / CALLS * 1e6;

	printf("bench machine mem_read_ns=%.1f page_fault_us=%.2f "
	       "syscall_us=%.2f\n", read_ns, fault_us, call_us);
	return 0;
}
