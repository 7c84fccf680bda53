#ifndef CALSA_SHIM_H
#define CALSA_SHIM_H

#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

// libasound reports its own errors ("ALSA lib pcm.c:...") through a C variadic callback, which Swift cannot
// define. This handler formats the message and hands it to calsa_log_message, a plain C function that the
// ALSA module implements in Swift (@_cdecl), so the text ends up in our log instead of on stderr.
void calsa_log_message(const char *file, int line, const char *function, int err, const char *message);

static inline void calsa_error_handler(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    char message[512];
    va_list arguments;
    va_start(arguments, fmt);
    vsnprintf(message, sizeof message, fmt, arguments);
    va_end(arguments);
    calsa_log_message(file, line, function, err, message);
}

static inline int calsa_route_errors_to_log(void) {
    return snd_lib_error_set_handler(calsa_error_handler);
}

#endif
