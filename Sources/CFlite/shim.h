#ifndef CFLITE_SHIM_H
#define CFLITE_SHIM_H

// flite (Debian flite1-dev) with the cmu_us_slt voice, loaded with dlopen for a batch of prompts and closed after,
// so a process that is not speaking maps none of it: linked at start, the voice library alone would cost ~0.6 MB
// of relocated data (41,700 relocations) in every idle daemon. Nothing is linked: the headers give the types and
// signatures, dlsym the functions.
#include <flite/flite.h>
#include <dlfcn.h>
#include <malloc.h>  // malloc_trim, after a batch
#include <setjmp.h>
#include <stddef.h>

// Declared in no installed header (the voice's own source declares them).
typedef cst_voice *(*cflite_register_voice)(const char *voxdir);
typedef void (*cflite_unregister_voice)(cst_voice *voice);
typedef int (*cflite_init_function)(void);
typedef cst_wave *(*cflite_text_to_wave_function)(const char *text, cst_voice *voice);
typedef void (*cflite_delete_wave_function)(cst_wave *wave);

/// The loaded libraries and what is used from them.
typedef struct cflite_library {
    void *handle;
    cflite_init_function flite_init;
    cflite_register_voice register_cmu_us_slt;
    cflite_unregister_voice unregister_cmu_us_slt;
    cflite_text_to_wave_function text_to_wave;
    cflite_delete_wave_function delete_wave;
    /// flite's `cst_errjmp`: where its internal errors jump to instead of calling exit(-1).
    jmp_buf **errjmp;
} cflite_library;

/// The voice's library `name`, libflite_cmu_us_slt.so.1 (which brings libflite, libflite_usenglish and
/// libflite_cmulex): 0 on success, else -1 with dlerror()'s text in `error`.
static inline int cflite_open(cflite_library *library, const char *name, const char **error) {
    *library = (cflite_library){0};
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) { *error = dlerror(); return -1; }
    library->handle = handle;
    library->flite_init = (cflite_init_function)dlsym(handle, "flite_init");
    library->register_cmu_us_slt = (cflite_register_voice)dlsym(handle, "register_cmu_us_slt");
    library->unregister_cmu_us_slt = (cflite_unregister_voice)dlsym(handle, "unregister_cmu_us_slt");
    library->text_to_wave = (cflite_text_to_wave_function)dlsym(handle, "flite_text_to_wave");
    library->delete_wave = (cflite_delete_wave_function)dlsym(handle, "delete_wave");
    library->errjmp = (jmp_buf **)dlsym(handle, "cst_errjmp");
    if (!library->flite_init || !library->register_cmu_us_slt || !library->unregister_cmu_us_slt ||
        !library->text_to_wave || !library->delete_wave || !library->errjmp) {
        *error = "a flite function is missing from the voice's library and the libraries it brings";
        dlclose(handle);
        *library = (cflite_library){0};
        return -1;
    }
    return 0;
}

static inline void cflite_close(cflite_library *library) {
    if (library->handle) dlclose(library->handle);
    *library = (cflite_library){0};
}

/// flite_text_to_wave, with flite's internal errors (which would call exit) returning NULL instead. What flite
/// allocated before the error is lost; it prints its own message on stderr.
static inline cst_wave *cflite_text_to_wave(const cflite_library *library, const char *text, cst_voice *voice) {
    jmp_buf here;
    jmp_buf *previous = *library->errjmp;
    if (setjmp(here) != 0) {
        *library->errjmp = previous;
        return NULL;
    }
    *library->errjmp = &here;
    cst_wave *wave = library->text_to_wave(text, voice);
    *library->errjmp = previous;
    return wave;
}

#endif
