#ifndef MAMORI_CPAM_SHIM_H
#define MAMORI_CPAM_SHIM_H

// Why this file exists: pam_prompt and pam_syslog are variadic (printf-style), which Swift cannot
// call, and a secret must be erased with a call the optimiser may not remove. Each shim passes a
// fixed "%s" format, so no user-controlled text is ever interpreted as a format string.

#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#pragma clang assume_nonnull begin

/// Asks the user through the application's conversation function. On success `*response` is a
/// malloc'ed reply the caller must erase and free with mamori_pam_free_response; it may be NULL.
static inline int mamori_pam_prompt(pam_handle_t *pamh, int style, char *_Nullable *_Nonnull response,
                                    const char *text) {
    *response = NULL;
    return pam_prompt(pamh, style, response, "%s", text);
}

static inline void mamori_pam_syslog(const pam_handle_t *pamh, int priority, const char *message) {
    pam_syslog(pamh, priority, "%s", message);
}

/// Erases `length` bytes in a way the compiler must keep.
static inline void mamori_secure_zero(void *_Nullable buffer, size_t length) {
    if (buffer != NULL && length > 0) {
        explicit_bzero(buffer, length);
    }
}

/// Erases and frees a conversation reply.
static inline void mamori_pam_free_response(char *_Nullable response) {
    if (response != NULL) {
        explicit_bzero(response, strlen(response));
        free(response);
    }
}

/// pam_get_item for string items (PAM_SERVICE, PAM_TTY, PAM_RHOST): NULL when unset or on error.
static inline const char *_Nullable mamori_pam_get_string_item(const pam_handle_t *pamh, int item) {
    const void *value = NULL;
    if (pam_get_item(pamh, item, &value) != PAM_SUCCESS) {
        return NULL;
    }
    return (const char *)value;
}

#pragma clang assume_nonnull end

#endif
