/*
 * The hardware floor of a request/reply round trip between two pinned threads, for five shared-memory layouts,
 * measured side by side in one run (the layouts take turns, round after round) so that a change in the machine's
 * state affects them all alike. No JVM, no checks, no payload copy beyond one word: what the cache lines cost. The
 * waiting side pauses between looks (x86's PAUSE, what Java's Thread.onSpinWait() compiles to), as Ferry's pollers
 * do; without it a spinning reader delays the writer's ownership of the line it spins on.
 *
 *   one-line       one 64-byte line bounced both ways (the ping-pong of pingpong.c)
 *   two-lines      a fixed request line and a fixed reply line
 *   rings-zeroing  a request ring and a reply ring of 64-byte records; each reader zeroes the record it read (the
 *                  scheme of Ferry's lanes and Agrona's many-to-one ring)
 *   rings-seq      the same rings; records carry the call's sequence number and nothing is zeroed (as Aeron's
 *                  log buffers, whose frames are told apart by position)
 *   slots          one ring of 64-byte call slots; the reply is written into the request's own slot (as FlexSC's
 *                  syscall entries carry their return value), so one line goes there and back
 *
 * Prints, per layout, the median and the minimum over the rounds of the mean round trip of each round, in ns.
 *
 * Build and run: bench/scripts/c-layouts.sh [CPU_A CPU_B [ROUNDS CALLS_PER_ROUND]]
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

#define SLOTS 1024
#define LAYOUTS 5

struct line
{
    _Alignas(64) _Atomic int64_t word;
    int64_t body[7];
};

static const char *NAMES[LAYOUTS] = {"one-line", "two-lines", "rings-zeroing", "rings-seq", "slots"};
static struct line *requests;
static struct line *replies;
static _Atomic int layout = -1;
static _Atomic int go = 0;
static long calls;

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* A waiting loop pauses between looks, as Ferry's and Aeron's pollers do (Thread.onSpinWait). */
static inline void spin_pause(void)
{
    _mm_pause();
}
#else
static inline void spin_pause(void)
{
}
#endif

#define LOAD(p) atomic_load_explicit(p, memory_order_acquire)
#define STORE(p, v) atomic_store_explicit(p, v, memory_order_release)

/* The server's side of one round: answers calls 1..calls. */
static void serve(int which)
{
    for (int64_t n = 1; n <= calls; n++)
    {
        struct line *req = &requests[n % SLOTS];
        struct line *rep = &replies[n % SLOTS];
        switch (which)
        {
            case 0:
                while (LOAD(&requests[0].word) != 2 * n - 1)
                {
                    spin_pause();
                }
                STORE(&requests[0].word, 2 * n);
                break;
            case 1:
                while (LOAD(&requests[0].word) != n)
                {
                    spin_pause();
                }
                STORE(&replies[0].word, n);
                break;
            case 2:
                while (LOAD(&req->word) == 0)
                {
                    spin_pause();
                }
                rep->body[0] = req->body[0];
                STORE(&rep->word, n);
                STORE(&req->word, 0);
                break;
            case 3:
                while (LOAD(&req->word) != n)
                {
                    spin_pause();
                }
                rep->body[0] = req->body[0];
                STORE(&rep->word, n);
                break;
            default:
                while (LOAD(&req->word) != 2 * n - 1)
                {
                    spin_pause();
                }
                req->body[0] = req->body[0] + 1;
                STORE(&req->word, 2 * n);
                break;
        }
    }
}

static void *server(void *arg)
{
    pin(*(int *)arg);
    for (;;)
    {
        while (LOAD(&go) == 0)
        {
        }
        int which = LOAD(&layout);
        if (which < 0)
        {
            return NULL;
        }
        serve(which);
        STORE(&go, 0);
    }
}

/* The client's side of one round; returns the mean round trip in ns. */
static double call(int which)
{
    double start = now_ns();
    for (int64_t n = 1; n <= calls; n++)
    {
        struct line *req = &requests[n % SLOTS];
        struct line *rep = &replies[n % SLOTS];
        switch (which)
        {
            case 0:
                STORE(&requests[0].word, 2 * n - 1);
                while (LOAD(&requests[0].word) != 2 * n)
                {
                    spin_pause();
                }
                break;
            case 1:
                STORE(&requests[0].word, n);
                while (LOAD(&replies[0].word) != n)
                {
                    spin_pause();
                }
                break;
            case 2:
                req->body[0] = n;
                STORE(&req->word, n);
                while (LOAD(&rep->word) == 0)
                {
                    spin_pause();
                }
                STORE(&rep->word, 0);
                break;
            case 3:
                req->body[0] = n;
                STORE(&req->word, n);
                while (LOAD(&rep->word) != n)
                {
                    spin_pause();
                }
                break;
            default:
                req->body[0] = n;
                STORE(&req->word, 2 * n - 1);
                while (LOAD(&req->word) != 2 * n)
                {
                    spin_pause();
                }
                break;
        }
    }
    return (now_ns() - start) / calls;
}

int main(int argc, char **argv)
{
    int cpu_a = argc > 1 ? atoi(argv[1]) : 0;
    int cpu_b = argc > 2 ? atoi(argv[2]) : 1;
    int rounds = argc > 3 ? atoi(argv[3]) : 21;
    calls = argc > 4 ? atol(argv[4]) : 20000;
    if (rounds < 1 || calls < 1 || cpu_a == cpu_b)
    {
        fprintf(stderr, "usage: layouts CPU_A CPU_B [ROUNDS>=1 CALLS_PER_ROUND>=1], two different CPUs\n");
        return 2;
    }
    const size_t bytes = sizeof(struct line) * SLOTS;
    requests = aligned_alloc(64, bytes);
    replies = aligned_alloc(64, bytes);
    double *results = malloc(sizeof(double) * LAYOUTS * rounds);
    if (requests == NULL || replies == NULL || results == NULL)
    {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, server, &cpu_b);
    pin(cpu_a);
    for (int r = -1; r < rounds; r++)
    {
        for (int which = 0; which < LAYOUTS; which++)
        {
            /* Every round starts clean: all lines zero, the server waiting for call 1. */
            memset(requests, 0, bytes);
            memset(replies, 0, bytes);
            STORE(&layout, which);
            STORE(&go, 1);
            double mean = call(which);
            while (LOAD(&go) != 0)
            {
            }
            if (r >= 0)
            {
                results[which * rounds + r] = mean;
            }
        }
    }
    STORE(&layout, -1);
    STORE(&go, 1);
    pthread_join(thread, NULL);
    printf("layout           median ns   min ns   (CPU %d - CPU %d, %d rounds of %ld calls)\n", cpu_a, cpu_b, rounds,
        calls);
    for (int which = 0; which < LAYOUTS; which++)
    {
        double *v = &results[which * rounds];
        qsort(v, rounds, sizeof(double), compare);
        printf("%-16s %9.1f %8.1f\n", NAMES[which], v[rounds / 2], v[0]);
    }
    free(results);
    free(requests);
    free(replies);
    return 0;
}
