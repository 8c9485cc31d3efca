/* The second-factor benchmark's harness: one process, the real libpam, one PAM service.
 * For each attempt: pam_start, pam_authenticate, pam_end (what a login does), answering the
 * module's prompt with the next code from CODEFILE. Prints one line of key=value results.
 * Built and run by scripts/pam-bench.sh under pam_wrapper (a private PAM configuration directory). */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *current_code;

static int answer_prompts(int count, const struct pam_message **messages, struct pam_response **replies, void *data) {
    (void)data;
    struct pam_response *out = calloc((size_t)count, sizeof *out);
    if (out == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        int style = messages[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            out[i].resp = strdup(current_code);
            if (out[i].resp == NULL) {
                for (int j = 0; j < i; j++) free(out[j].resp);
                free(out);
                return PAM_BUF_ERR;
            }
        }
    }
    *replies = out;
    return PAM_SUCCESS;
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, int n, double p) {
    int rank = (int)(p / 100.0 * n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s SERVICE USER CODEFILE COUNT\n", argv[0]);
        return 2;
    }
    const char *service = argv[1], *user = argv[2];
    int count = atoi(argv[4]);
    FILE *file = fopen(argv[3], "r");
    if (file == NULL || count < 1) {
        fprintf(stderr, "cannot read %s or bad count\n", argv[3]);
        return 2;
    }
    char (*codes)[16] = calloc((size_t)count, sizeof *codes);
    double *latency = calloc((size_t)count, sizeof *latency);
    if (codes == NULL || latency == NULL) return 2;
    for (int i = 0; i < count; i++) {
        if (fscanf(file, "%15s", codes[i]) != 1) {
            fprintf(stderr, "%s holds fewer than %d codes\n", argv[3], count);
            return 2;
        }
    }
    fclose(file);

    struct pam_conv conversation = { answer_prompts, NULL };
    int failures = 0, first_failure = PAM_SUCCESS;
    double start = seconds();
    for (int i = 0; i < count; i++) {
        pam_handle_t *handle = NULL;
        current_code = codes[i];
        double t0 = seconds();
        int rc = pam_start(service, user, &conversation, &handle);
        if (rc == PAM_SUCCESS) rc = pam_authenticate(handle, 0);
        pam_end(handle, rc);
        latency[i] = seconds() - t0;
        if (rc != PAM_SUCCESS) {
            if (failures++ == 0) first_failure = rc;
        }
    }
    double total = seconds() - start;
    qsort(latency, (size_t)count, sizeof *latency, by_value);
    printf("attempts=%d failures=%d first_failure=%d seconds=%.6f ops_per_s=%.1f p50_us=%.0f p99_us=%.0f max_us=%.0f\n",
           count, failures, first_failure, total, count / total, percentile(latency, count, 50) * 1e6,
           percentile(latency, count, 99) * 1e6, latency[count - 1] * 1e6);
    free(codes);
    free(latency);
    return failures == 0 ? 0 : 1;
}
