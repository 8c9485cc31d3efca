/* Loads a PAM module the way libpam does (dlopen, RTLD_NOW) and looks up its entry points: run
 * inside the install test's fresh Debian root, it proves pam_mamori.so needs nothing the packages
 * do not bring (no Swift runtime, no $ORIGIN). Exit 0 loaded; 1 not. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE.so\n", argv[0]);
        return 2;
    }
    void *module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (module == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    const char *entries[] = {"pam_sm_authenticate", "pam_sm_setcred"};
    for (unsigned i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (dlsym(module, entries[i]) == NULL) {
            fprintf(stderr, "%s: no %s\n", argv[1], entries[i]);
            return 1;
        }
    }
    printf("loaded %s: pam_sm_authenticate, pam_sm_setcred\n", argv[1]);
    return 0;
}
