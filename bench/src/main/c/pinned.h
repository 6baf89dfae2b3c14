/*
 * What the plain C references (pingpong.c, layouts.c) share: pinning the calling thread to one CPU, a monotonic
 * clock in ns, and the comparison qsort needs for medians.
 */
#ifndef FERRY_PINNED_H
#define FERRY_PINNED_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Pins the calling thread to a CPU, or exits with status 2 and a message saying why it cannot. */
static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0)
    {
        fprintf(stderr, "cannot pin to CPU %d: %s (is it online and in this process's cpuset?)\n", cpu, strerror(rc));
        exit(2);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Orders doubles, for qsort. */
static int compare(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
