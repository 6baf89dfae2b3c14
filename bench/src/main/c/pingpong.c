/*
 * Plain C cache-line ping-pong: the reference the JVM's latency-map is compared with.
 *
 * Two threads pinned to two CPUs bounce one 64-byte-aligned, padded cache line: the first writes an odd value,
 * the second answers with the next even one. Each sample times ROUNDS round trips; the program prints the median
 * of SAMPLES samples (after WARMUP discarded ones), in ns per round trip. Plain spinning, no pause instruction,
 * acquire loads and release stores: the same protocol as dev.ferry.affinity.model.Probes#pingPong.
 *
 * Build and run: bench/scripts/c-pingpong.sh [CPU_A CPU_B [ROUNDS SAMPLES]]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pinned.h"

struct line
{
    char pad_before[64];
    _Alignas(64) _Atomic int64_t value;
    char pad_after[64 - sizeof(int64_t)];
};

static struct line shared __attribute__((aligned(64)));

static void *responder(void *arg)
{
    pin(*(int *)arg);
    int64_t last = 0;
    for (;;)
    {
        int64_t v = atomic_load_explicit(&shared.value, memory_order_acquire);
        if (v < 0)
        {
            return NULL;
        }
        if ((v & 1) == 1 && v != last)
        {
            last = v;
            atomic_store_explicit(&shared.value, v + 1, memory_order_release);
        }
    }
}

int main(int argc, char **argv)
{
    int cpu_a = argc > 1 ? atoi(argv[1]) : 0;
    int cpu_b = argc > 2 ? atoi(argv[2]) : 1;
    long rounds = argc > 3 ? atol(argv[3]) : 1000;
    int samples = argc > 4 ? atoi(argv[4]) : 201;
    int warmup = 20;
    if (rounds < 1 || samples < 1 || cpu_a == cpu_b)
    {
        fprintf(stderr, "usage: pingpong CPU_A CPU_B [ROUNDS>=1 SAMPLES>=1], two different CPUs\n");
        return 2;
    }
    double *sample = malloc(sizeof(double) * samples);
    pthread_t thread;
    pthread_create(&thread, NULL, responder, &cpu_b);
    pin(cpu_a);
    int64_t next = 1;
    for (int s = -warmup; s < samples; s++)
    {
        double start = now_ns();
        for (long r = 0; r < rounds; r++)
        {
            atomic_store_explicit(&shared.value, next, memory_order_release);
            while (atomic_load_explicit(&shared.value, memory_order_acquire) != next + 1)
            {
                /* spin: this is what is measured */
            }
            next += 2;
        }
        if (s >= 0)
        {
            sample[s] = (now_ns() - start) / rounds;
        }
    }
    atomic_store_explicit(&shared.value, -1, memory_order_release);
    pthread_join(thread, NULL);
    qsort(sample, samples, sizeof(double), compare);
    printf("%.1f\n", sample[samples / 2]);
    fprintf(stderr, "C ping-pong CPU %d - CPU %d: median %.1f ns per round trip (p10 %.1f, p90 %.1f; %d samples of "
        "%ld rounds)\n", cpu_a, cpu_b, sample[samples / 2], sample[samples / 10], sample[samples * 9 / 10], samples,
        rounds);
    free(sample);
    return 0;
}
