/* The PAM module's load/unload cycle, for scripts/pam-valgrind.sh: CYCLES times, dlopen the
 * module, check it exports pam_sm_authenticate, run one authentication through the real libpam
 * (pam_start_confdir with a private configuration directory naming the module: libpam dlopens it
 * again), pam_end (libpam's dlclose), then dlclose, so the module is really unloaded every cycle.
 * Prints how many authentications returned each PAM code; exits 1 if the module would not load. */
#include <dlfcn.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int answer_prompts(int count, const struct pam_message **messages, struct pam_response **replies, void *data) {
    struct pam_response *out = calloc((size_t)count, sizeof *out);
    if (out == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        if (messages[i]->msg_style == PAM_PROMPT_ECHO_OFF || messages[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            out[i].resp = strdup((const char *)data);
        }
    }
    *replies = out;
    return PAM_SUCCESS;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s MODULE CONFDIR SERVICE USER CYCLES\n", argv[0]);
        return 2;
    }
    const char *module = argv[1], *confdir = argv[2], *service = argv[3], *user = argv[4];
    int cycles = atoi(argv[5]);
    int outcomes[64] = {0};
    char code[] = "000000";
    struct pam_conv conversation = { answer_prompts, code };
    for (int i = 0; i < cycles; i++) {
        void *handle = dlopen(module, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL || dlsym(handle, "pam_sm_authenticate") == NULL) {
            fprintf(stderr, "cycle %d: %s\n", i, dlerror());
            return 1;
        }
        pam_handle_t *pamh = NULL;
        int rc = pam_start_confdir(service, user, &conversation, confdir, &pamh);
        if (rc == PAM_SUCCESS) rc = pam_authenticate(pamh, 0);
        pam_end(pamh, rc);
        outcomes[rc >= 0 && rc < 64 ? rc : 63]++;
        dlclose(handle);
    }
    for (int rc = 0; rc < 64; rc++) {
        if (outcomes[rc] > 0) printf("pam_code=%d count=%d\n", rc, outcomes[rc]);
    }
    return 0;
}
