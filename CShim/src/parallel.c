/* The decoder's one threading pattern (mcinr_internal.h, mci_parallel_run): a fixed list of
 * tasks shared by worker threads, each with its own state; the calling thread only reports
 * progress and passes on an abort. Used by the network evaluation (decode.c, a task per chunk
 * of points) and by the residual step (residual.c, a task per requested component). */
#include "mcinr_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* done of total tasks as a fraction of [from, to]; exactly `to` when all are done. */
static double fraction(const mci_parallel_for *loop, size_t done) {
    if (done >= loop->num_tasks) return loop->to;
    return loop->from + (loop->to - loop->from) * ((double)done / (double)loop->num_tasks);
}

static int report(const mci_parallel_for *loop, size_t done) {
    return loop->progress ? loop->progress(loop->user_data, fraction(loop, done)) != 0 : 0;
}

static mcinr_status run_serial(const mci_parallel_for *loop, size_t *failed_task) {
    void *state = loop->init ? loop->init(loop->ctx) : NULL;
    if (loop->init && !state) return MCINR_ERR_NOMEM;
    mcinr_status status = MCINR_OK;
    for (size_t i = 0; i < loop->num_tasks; i++) {
        if ((status = loop->task(loop->ctx, state, i)) != MCINR_OK) {
            *failed_task = i;
            break;
        }
        if (report(loop, i + 1)) {
            status = MCINR_ERR_ABORTED;
            break;
        }
    }
    if (loop->fini) loop->fini(loop->ctx, state);
    return status;
}

typedef struct shared {
    const mci_parallel_for *loop;
    pthread_mutex_t mutex;
    pthread_cond_t progressed;
    size_t next, done;
    size_t workers;
    int stop;
    mcinr_status status; /* the failure of the lowest failed task, or NOMEM of an init */
    size_t failed_task;
} shared;

static void *worker(void *arg) {
    shared *sh = arg;
    const mci_parallel_for *loop = sh->loop;
    void *state = loop->init ? loop->init(loop->ctx) : NULL;
    int ok = !loop->init || state;
    pthread_mutex_lock(&sh->mutex);
    if (!ok && sh->status == MCINR_OK) {
        sh->status = MCINR_ERR_NOMEM;
        sh->failed_task = SIZE_MAX;
    }
    if (!ok) sh->stop = 1;
    while (ok && !sh->stop && sh->next < loop->num_tasks) {
        size_t i = sh->next++;
        pthread_mutex_unlock(&sh->mutex);
        mcinr_status s = loop->task(loop->ctx, state, i);
        pthread_mutex_lock(&sh->mutex);
        if (s != MCINR_OK) {
            if (sh->status == MCINR_OK || (sh->failed_task != SIZE_MAX && i < sh->failed_task)) {
                sh->status = s;
                sh->failed_task = i;
            }
            sh->stop = 1;
        }
        sh->done++;
        pthread_cond_signal(&sh->progressed);
    }
    sh->workers--;
    pthread_cond_signal(&sh->progressed);
    pthread_mutex_unlock(&sh->mutex);
    if (loop->fini && ok) loop->fini(loop->ctx, state);
    return NULL;
}

mcinr_status mci_parallel_checkpoint(mcinr_progress_fn progress, void *user_data, double fraction) {
    mci_parallel_for loop = {0, 1, NULL, NULL, NULL, NULL, progress, user_data, fraction, fraction};
    return mci_parallel_run(&loop, NULL);
}

mcinr_status mci_parallel_run(const mci_parallel_for *loop, size_t *failed_task) {
    size_t unused;
    if (!failed_task) failed_task = &unused;
    *failed_task = SIZE_MAX;
    if (loop->num_tasks == 0) return report(loop, 0) ? MCINR_ERR_ABORTED : MCINR_OK;
    size_t threads = loop->threads < loop->num_tasks ? loop->threads : loop->num_tasks;
    if (threads <= 1) return run_serial(loop, failed_task);

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.loop = loop;
    sh.status = MCINR_OK;
    sh.failed_task = SIZE_MAX;
    if (pthread_mutex_init(&sh.mutex, NULL) != 0) return run_serial(loop, failed_task);
    if (pthread_cond_init(&sh.progressed, NULL) != 0) {
        pthread_mutex_destroy(&sh.mutex);
        return run_serial(loop, failed_task);
    }
    pthread_t *ids = malloc(threads * sizeof *ids);
    size_t started = 0;
    if (ids) {
        pthread_mutex_lock(&sh.mutex);
        for (; started < threads; started++) {
            if (pthread_create(&ids[started], NULL, worker, &sh) != 0) break;
            sh.workers++;
        }
        pthread_mutex_unlock(&sh.mutex);
    }
    mcinr_status status;
    if (started == 0) { /* no thread could start: the calling thread does the work */
        status = run_serial(loop, failed_task);
    } else {
        /* The calling thread only reports progress, so the callback never runs elsewhere. */
        int aborted = 0;
        size_t reported = 0;
        pthread_mutex_lock(&sh.mutex);
        while (sh.workers > 0) {
            if (sh.done != reported && !sh.stop) {
                reported = sh.done;
                pthread_mutex_unlock(&sh.mutex);
                int stop = report(loop, reported);
                pthread_mutex_lock(&sh.mutex);
                if (stop) aborted = sh.stop = 1;
                continue;
            }
            pthread_cond_wait(&sh.progressed, &sh.mutex);
        }
        status = sh.status;
        *failed_task = sh.failed_task;
        int finished = sh.done == loop->num_tasks && status == MCINR_OK;
        pthread_mutex_unlock(&sh.mutex);
        for (size_t t = 0; t < started; t++) pthread_join(ids[t], NULL);
        /* every task done: make sure `to` was reported (and honour an abort asked for then) */
        if (finished && !aborted && reported != loop->num_tasks) aborted = report(loop, loop->num_tasks);
        if (status == MCINR_OK && aborted) status = MCINR_ERR_ABORTED;
    }
    free(ids);
    pthread_cond_destroy(&sh.progressed);
    pthread_mutex_destroy(&sh.mutex);
    return status;
}
